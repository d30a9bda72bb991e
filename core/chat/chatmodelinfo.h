// What the Playground needs to know about a model before it offers a chat: can it generate, can
// it read text, does it bring a chat template, how many positions does it hold.
#pragma once

#include <QString>

namespace surfing {

struct ChatModelInfo {
    QString modelType;
    bool isEncoder = false;        // BERT: encodes, never generates
    bool hasTokenizer = false;     // tokenizer.json, vocab.txt or vocab.json beside config.json
    bool hasChatTemplate = false;  // a chat_template the engine supports
    QString templateError;         // a chat_template it does not support: why
    int contextLength = 0;         // positions for prompt + reply; 0: no fixed limit

    // Reads MODEL_DIR (config.json, tokenizer files, tokenizer_config.json). Throws surfing::Error
    // when config.json is missing or invalid.
    static ChatModelInfo load(const QString &modelDir);
};

} // namespace surfing
