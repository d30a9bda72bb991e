// The one way to open a model for running, shared by the desktop app, `surfing-cli run` and the
// benchmarks: from a chunk folder on this machine, or from a weight server, whose config.json and
// tokenizer files are fetched (checked against the manifest's hashes) into a staging folder.
#pragma once

#include "client/fetchingchunksource.h"
#include "client/weightclient.h"

#include <QString>
#include <QTemporaryDir>
#include <QUrl>
#include <functional>
#include <memory>

namespace surfing {

class RemoteChunkSource;

struct ModelOpenOptions {
    QString chunkDir;     // without serverUrl: run from this chunk folder. With it: where the
                          // model's files already are (an in-process server); empty: fetch them
    QUrl serverUrl;       // ws://HOST:PORT[/MODEL] or wss://...
    QList<QUrl> replicas; // more servers of the same model: failover between them
    QString model;        // served model; empty: the URL's path, else the server's default
    QString token;
    QString clientName = QStringLiteral("surfing-client");
    qint64 cacheBytes = 0; // <= 0: no byte limit
    int cacheChunks = 0;   // <= 0: no chunk limit
    qint64 compressedCacheBytes = 0; // the compressed tier below the cache; <= 0: off
    int timeoutMs = 0;     // connect and request timeout; <= 0: WeightClientOptions' defaults
    int peerTimeoutMs = -1; // WeightClientOptions::peerTimeoutMs (0: off); < 0: its default
    // Called on the network thread at every change while connecting (attempts to show).
    std::function<void(ConnectionState)> connectionStateChanged;
};

struct OpenedModel {
    std::shared_ptr<FetchingChunkSource> source;
    QString filesDir;                       // config.json and the tokenizer files
    std::shared_ptr<QTemporaryDir> staging; // holds fetched files while the model is used
    bool isRemote = false;
};

// `text` as a server URL: throws surfing::Error saying what is expected unless it is
// ws://HOST:PORT[/MODEL] or wss://....
QUrl parseServerUrl(const QString &text);

// Opens the chunk source and makes the model's files available; blocks (call it off the GUI
// thread). Throws surfing::Error naming the folder, server, file or field at fault.
OpenedModel openModel(const ModelOpenOptions &options);

// Fetches config.json and the tokenizer files the server's manifest lists into `dir` (the client
// checks each against its hash). Throws when the manifest lists no config.json, a fetch fails or
// a file cannot be written ("the disk is full ..."). Must not run on the client's thread.
void fetchModelFiles(RemoteChunkSource &source, const QString &dir);

} // namespace surfing
