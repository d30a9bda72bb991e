// When generation ends before the token limit: the end-of-sequence ids a model declares, stop
// strings the user gives, and the context length a prompt plus its reply must fit in.
#pragma once

#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <QVector>
#include <optional>

namespace surfing {

// Every end-of-sequence id of the model in MODEL_DIR: eos_token_id of config.json and of
// generation_config.json (each a number or a list), plus `tokenizerEos` (the tokenizer's
// eos_token, e.g. Qwen's <|im_end|> which config.json does not list). No duplicates, in that
// order. Unreadable or absent files add nothing.
QVector<qint64> eosTokenIds(const QString &modelDir, std::optional<qint64> tokenizerEos = std::nullopt);

// The positions a decoder holds (max_position_embeddings, n_positions or n_ctx in config.json);
// nullopt for models without a fixed limit (T5's relative positions) or when none is given.
std::optional<int> contextLength(const QJsonObject &config);

// Stop strings as a user types them in one field: separated by commas; a backslash escapes the
// next character ("\n" a newline, "\t" a tab, "\," a comma, two backslashes one backslash).
QStringList parseStopList(const QString &text);

// Finds stop strings in generated text as it grows, and how much of its end must be held back
// from the screen because it may be the start of a stop string.
class StopStrings
{
public:
    StopStrings() = default;
    explicit StopStrings(const QStringList &stops); // empty strings are ignored

    bool isEmpty() const { return m_stops.isEmpty(); }
    // Offset of the earliest stop string in `text`, or -1.
    qsizetype find(const QString &text) const;
    // How many characters at the end of `text` could begin a stop string.
    qsizetype heldBack(const QString &text) const;

private:
    QStringList m_stops;
};

} // namespace surfing
