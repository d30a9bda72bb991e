#include "bytelevelbpetokenizer.h"

#include "bytelevelalphabet.h"
#include "gpt2pretokenizer.h"

namespace surfing {

ByteLevelBpeTokenizer::ByteLevelBpeTokenizer(const QString &vocabPath, const QString &mergesPath,
                                             TokenizerConfig config)
    : Tokenizer(withGpt2Defaults(std::move(config))),
      m_bpe(Vocabulary::fromVocabJson(vocabPath), BpeModel::readMergesTxt(mergesPath), BpeOptions(),
            mergesPath)
{
    QStringList specialTokens;
    for (const QString &token : m_config.specialTokens()) {
        if (const std::optional<qint64> id = m_bpe.vocabulary().id(token)) {
            specialTokens.append(token);
            m_specialIds.insert(*id);
        }
    }
    m_specialSplitter = AddedTokenSplitter(specialTokens);
}

TokenizerConfig ByteLevelBpeTokenizer::withGpt2Defaults(TokenizerConfig config)
{
    for (QString *token : {&config.bosToken, &config.eosToken, &config.unkToken}) {
        if (token->isEmpty())
            *token = QStringLiteral("<|endoftext|>");
    }
    return config;
}

std::optional<qint64> ByteLevelBpeTokenizer::tokenToId(const QString &token) const
{
    return m_bpe.vocabulary().id(token);
}

Encoding ByteLevelBpeTokenizer::encode(const QString &text, bool addSpecialTokens) const
{
    QVector<qint64> ids;
    if (addSpecialTokens && m_config.addBosToken.value_or(false) && bosId())
        ids.append(*bosId());
    const QString prefixed = m_config.addPrefixSpace ? QLatin1Char(' ') + text : text;
    for (const TextSegment &segment : m_specialSplitter.split(prefixed)) {
        if (segment.isAddedToken) {
            ids.append(*tokenToId(segment.text));
            continue;
        }
        for (const QString &piece : Gpt2PreTokenizer::split(segment.text))
            ids += m_bpe.tokenize(ByteLevelAlphabet::encode(piece.toUtf8()));
    }
    return makeEncoding(ids);
}

QString ByteLevelBpeTokenizer::decode(const QVector<qint64> &ids, bool skipSpecialTokens) const
{
    QString joined;
    for (qint64 id : ids) {
        if (!(skipSpecialTokens && m_specialIds.contains(id)))
            joined += idToToken(id);
    }
    const QString text = QString::fromUtf8(ByteLevelAlphabet::decode(joined));
    return m_config.cleanUpTokenizationSpaces ? cleanUpTokenizationSpaces(text) : text;
}

} // namespace surfing
