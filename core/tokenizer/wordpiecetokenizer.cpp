#include "wordpiecetokenizer.h"

namespace surfing {

namespace {

BertBasicOptions basicOptions(const TokenizerConfig &config)
{
    BertBasicOptions options;
    options.lowerCase = config.doLowerCase.value_or(true);
    options.stripAccents = config.stripAccents;
    options.tokenizeChineseChars = config.tokenizeChineseChars;
    return options;
}

void setIfEmpty(QString &token, const char *fallback)
{
    if (token.isEmpty())
        token = QLatin1String(fallback);
}

} // namespace

WordPieceTokenizer::WordPieceTokenizer(const QString &vocabPath, TokenizerConfig config)
    : Tokenizer(withBertDefaults(std::move(config))),
      m_basic(basicOptions(m_config)),
      m_wordPiece(Vocabulary::fromVocabTxt(vocabPath), WordPieceOptions {m_config.unkToken})
{
    QStringList specialTokens;
    for (const QString &token : m_config.specialTokens()) {
        if (const std::optional<qint64> id = m_wordPiece.vocabulary().id(token)) {
            specialTokens.append(token);
            m_specialIds.insert(*id);
        }
    }
    m_specialSplitter = AddedTokenSplitter(specialTokens);
}

TokenizerConfig WordPieceTokenizer::withBertDefaults(TokenizerConfig config)
{
    setIfEmpty(config.unkToken, "[UNK]");
    setIfEmpty(config.clsToken, "[CLS]");
    setIfEmpty(config.sepToken, "[SEP]");
    setIfEmpty(config.padToken, "[PAD]");
    setIfEmpty(config.maskToken, "[MASK]");
    return config;
}

std::optional<qint64> WordPieceTokenizer::tokenToId(const QString &token) const
{
    return m_wordPiece.vocabulary().id(token);
}

QVector<qint64> WordPieceTokenizer::tokenizeText(const QString &text) const
{
    QVector<qint64> ids;
    for (const TextSegment &segment : m_specialSplitter.split(text)) {
        if (segment.isAddedToken) {
            ids.append(*tokenToId(segment.text));
            continue;
        }
        for (const QString &word : m_basic.split(segment.text))
            ids += m_wordPiece.tokenize(word);
    }
    return ids;
}

Encoding WordPieceTokenizer::special(const QString &token) const
{
    const std::optional<qint64> id = tokenToId(token);
    return id ? makeEncoding({*id}) : Encoding();
}

Encoding WordPieceTokenizer::encode(const QString &text, bool addSpecialTokens) const
{
    const Encoding body = makeEncoding(tokenizeText(text));
    if (!addSpecialTokens)
        return body;
    Encoding encoding = special(m_config.clsToken);
    encoding.append(body);
    encoding.append(special(m_config.sepToken));
    return encoding;
}

Encoding WordPieceTokenizer::encodePair(const QString &first, const QString &second,
                                        bool addSpecialTokens) const
{
    Encoding encoding = encode(first, addSpecialTokens);
    Encoding tail = makeEncoding(tokenizeText(second));
    if (addSpecialTokens)
        tail.append(special(m_config.sepToken));
    tail.tokenTypeIds.fill(1);
    encoding.append(tail);
    return encoding;
}

QString WordPieceTokenizer::decode(const QVector<qint64> &ids, bool skipSpecialTokens) const
{
    QStringList tokens;
    for (qint64 id : ids) {
        if (!(skipSpecialTokens && m_specialIds.contains(id)))
            tokens.append(idToToken(id));
    }
    const QString text = tokens.join(QLatin1Char(' ')).replace(QLatin1String(" ##"), QString()).trimmed();
    return m_config.cleanUpTokenizationSpaces ? cleanUpTokenizationSpaces(text) : text;
}

} // namespace surfing
