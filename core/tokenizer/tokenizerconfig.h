// What tokenizer_config.json and special_tokens_map.json say: special tokens and behaviour flags.
#pragma once

#include <QHash>
#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <optional>

namespace surfing {

struct TokenizerConfig {
    QString bosToken, eosToken, unkToken, padToken, clsToken, sepToken, maskToken;
    QStringList additionalSpecialTokens;
    QHash<qint64, QString> addedTokensDecoder;  // id -> content, from tokenizer_config.json
    QString tokenizerClass;

    std::optional<bool> addBosToken;
    std::optional<bool> addEosToken;
    std::optional<bool> doLowerCase;
    std::optional<bool> stripAccents;  // absent or null: follows lower-casing
    bool tokenizeChineseChars = true;
    bool addPrefixSpace = false;
    bool cleanUpTokenizationSpaces = false;
    bool padOnLeft = false;

    // Reads MODEL_DIR/tokenizer_config.json and MODEL_DIR/special_tokens_map.json (both optional;
    // the first wins where they disagree). Throws surfing::Error naming a file that is invalid.
    static TokenizerConfig load(const QString &modelDir);

    // Every special token named above, without duplicates or empty strings.
    QStringList specialTokens() const;
};

} // namespace surfing
