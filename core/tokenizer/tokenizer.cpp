#include "tokenizer.h"

#include "base/error.h"
#include "bytelevelbpetokenizer.h"
#include "jsontokenizer.h"
#include "wordpiecetokenizer.h"

#include <QDir>
#include <QFile>

namespace surfing {

Q_LOGGING_CATEGORY(lcTokenizer, "surfing.tokenizer", QtInfoMsg)

Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::load(const QString &modelDir)
{
    const QDir dir(modelDir);
    if (!dir.exists())
        throw Error(QStringLiteral("model directory %1 does not exist").arg(modelDir));
    TokenizerConfig config = TokenizerConfig::load(modelDir);
    const QString tokenizerJson = dir.filePath(QStringLiteral("tokenizer.json"));
    const QString vocabTxt = dir.filePath(QStringLiteral("vocab.txt"));
    const QString vocabJson = dir.filePath(QStringLiteral("vocab.json"));
    const QString mergesTxt = dir.filePath(QStringLiteral("merges.txt"));
    if (QFile::exists(tokenizerJson)) {
        qCDebug(lcTokenizer) << "loading" << tokenizerJson;
        return std::make_unique<JsonTokenizer>(tokenizerJson, std::move(config));
    }
    if (QFile::exists(vocabTxt)) {
        qCDebug(lcTokenizer) << "loading WordPiece" << vocabTxt;
        return std::make_unique<WordPieceTokenizer>(vocabTxt, std::move(config));
    }
    if (QFile::exists(vocabJson) && QFile::exists(mergesTxt)) {
        qCDebug(lcTokenizer) << "loading byte-level BPE" << vocabJson << mergesTxt;
        return std::make_unique<ByteLevelBpeTokenizer>(vocabJson, mergesTxt, std::move(config));
    }
    throw Error(QStringLiteral("%1 has no tokenizer: expected tokenizer.json, vocab.txt, or "
                               "vocab.json with merges.txt")
                    .arg(modelDir));
}

Encoding Tokenizer::encodePair(const QString &first, const QString &second, bool addSpecialTokens) const
{
    Encoding encoding = encode(first, addSpecialTokens);
    Encoding tail = encode(second, false);
    tail.tokenTypeIds.fill(1);
    encoding.append(tail);
    return encoding;
}

QVector<Encoding> Tokenizer::encodeBatch(const QStringList &texts, bool addSpecialTokens) const
{
    QVector<Encoding> batch;
    batch.reserve(texts.size());
    for (const QString &text : texts)
        batch.append(encode(text, addSpecialTokens));
    // Models without a pad token (GPT-2) pad with EOS; the attention mask hides it either way.
    const std::optional<qint64> pad = padId() ? padId() : eosId();
    const qint64 padValue = pad.value_or(0);
    padBatch(batch, padValue, idToToken(padValue),
             m_config.padOnLeft ? PaddingSide::Left : PaddingSide::Right);
    return batch;
}

std::optional<qint64> Tokenizer::specialId(const QString &token) const
{
    return token.isEmpty() ? std::nullopt : tokenToId(token);
}

Encoding Tokenizer::makeEncoding(const QVector<qint64> &ids) const
{
    Encoding encoding;
    encoding.ids = ids;
    encoding.tokenTypeIds.fill(0, ids.size());
    encoding.attentionMask.fill(1, ids.size());
    encoding.tokens.reserve(ids.size());
    for (qint64 id : ids)
        encoding.tokens.append(idToToken(id));
    return encoding;
}

QString Tokenizer::cleanUpTokenizationSpaces(QString text)
{
    static const std::pair<const char *, const char *> replacements[] = {
        {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
        {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
    };
    for (const auto &[from, to] : replacements)
        text.replace(QLatin1String(from), QLatin1String(to));
    return text;
}

} // namespace surfing
