// What the Playground asks the inference controller to run: where the weights come from, the
// client cache and prefetch settings, sampling, the prompt and the conversation it continues.
#pragma once

#include "chat/chattemplate.h"
#include "inference/inferenceoptions.h"

#include <QString>
#include <QUrl>

namespace surfing::ui {

struct PlaygroundRequest {
    enum class Source { LocalServer, RemoteServer, ChunkFolder };
    Source source = Source::LocalServer;
    QUrl serverUrl;          // ws://host:port (servers)
    QList<QUrl> replicas;    // further servers of the same model: client-side failover
    QString model;           // model name on the server (empty: its default)
    QString token;
    QString chunkDir;        // ChunkFolder; for the in-process server the folder of `model` (config, tokenizer)
    qint64 cacheBytes = 0;   // client cache budget, 0: none
    int cacheLayers = 0;     // 0: none
    InferenceOptions options;
    QString prompt;                  // what the user typed last (token ids for models without a tokenizer)
    QVector<ChatMessage> messages;   // the conversation ending with `prompt`, for the chat template
    bool rawCompletion = false;      // continue `prompt` as it is, without the chat template
};

} // namespace surfing::ui
