#include "jsontokenizer.h"

#include "base/error.h"
#include "jsonfile.h"

#include <QJsonObject>
#include <algorithm>

namespace surfing {

JsonTokenizer::JsonTokenizer(const QString &path, TokenizerConfig config)
    : JsonTokenizer(readJsonObjectFile(path), path, std::move(config))
{
}

JsonTokenizer::JsonTokenizer(const QJsonObject &json, const QString &path, TokenizerConfig config)
    : Tokenizer(std::move(config))
{
    m_model = makeModel(json.value(QStringLiteral("model")), path);
    m_normalizer = makeNormalizer(json.value(QStringLiteral("normalizer")), path);
    m_preTokenizer = makePreTokenizer(json.value(QStringLiteral("pre_tokenizer")), path);
    m_postProcessor = makePostProcessor(json.value(QStringLiteral("post_processor")), path);
    m_decoder = makeDecoder(json.value(QStringLiteral("decoder")), path);
    readAddedTokens(json.value(QStringLiteral("added_tokens")).toArray(), path);
    applyConfigBosEos();
}

void JsonTokenizer::readAddedTokens(const QJsonArray &tokens, const QString &path)
{
    QVector<AddedTokenSpec> raw;
    QVector<AddedTokenSpec> normalized;
    for (const QJsonValue &value : tokens) {
        const QJsonObject token = value.toObject();
        const QString content = token.value(QStringLiteral("content")).toString();
        const qint64 id = token.value(QStringLiteral("id")).toInteger(-1);
        if (content.isEmpty() || id < 0)
            throw Error(QStringLiteral("%1: added_tokens entry without content or id").arg(path));
        const bool special = token.value(QStringLiteral("special")).toBool();
        m_addedIds.insert(content, id);
        m_addedTokens.insert(id, content);
        if (special)
            m_specialIds.insert(id);
        AddedTokenSpec spec {content, token.value(QStringLiteral("lstrip")).toBool(),
                             token.value(QStringLiteral("rstrip")).toBool(),
                             token.value(QStringLiteral("single_word")).toBool()};
        // The tokenizers library matches "normalized" tokens, by their normalized form, in the
        // normalized text; special tokens are not normalized unless the file says so.
        if (token.value(QStringLiteral("normalized")).toBool(!special)) {
            spec.content = m_normalizer(content);
            if (spec.content.isEmpty())
                continue;
            m_normalizedIds.insert(spec.content, id);
            normalized.append(spec);
        } else {
            raw.append(spec);
        }
    }
    m_addedSplitter = AddedTokenSplitter(raw);
    m_normalizedSplitter = AddedTokenSplitter(normalized);
}

// transformers' LlamaTokenizerFast rebuilds the post-processor from add_bos_token/add_eos_token,
// so for LLaMA-family files tokenizer_config.json wins over tokenizer.json.
void JsonTokenizer::applyConfigBosEos()
{
    if (!m_config.tokenizerClass.startsWith(QLatin1String("Llama")))
        return;
    if (!m_config.addBosToken && !m_config.addEosToken)
        return;
    auto specialEncoding = [this](bool wanted, const std::optional<qint64> &id) {
        return wanted && id ? makeEncoding({*id}) : Encoding();
    };
    m_postProcessor = makeBosEosProcessor(specialEncoding(m_config.addBosToken.value_or(true), bosId()),
                                          specialEncoding(m_config.addEosToken.value_or(false), eosId()));
}

Encoding JsonTokenizer::tokenizeText(const QString &text) const
{
    QVector<qint64> ids;
    const QVector<TextSegment> segments = m_addedSplitter.split(text);
    for (qsizetype i = 0; i < segments.size(); ++i) {
        if (segments[i].isAddedToken)
            ids.append(m_addedIds.value(segments[i].token));
        else
            appendPlainText(m_normalizer(segments[i].text), i == 0, ids);
    }
    return makeEncoding(ids);
}

void JsonTokenizer::appendPlainText(const QString &normalized, bool atTextStart, QVector<qint64> &ids) const
{
    const QVector<TextSegment> segments = m_normalizedSplitter.isEmpty()
        ? QVector<TextSegment> {{normalized, false, {}}} : m_normalizedSplitter.split(normalized);
    for (qsizetype i = 0; i < segments.size(); ++i) {
        if (segments[i].isAddedToken) {
            ids.append(m_normalizedIds.value(segments[i].token));
            continue;
        }
        for (const QString &word : m_preTokenizer({segments[i].text}, atTextStart && i == 0)) {
            if (!word.isEmpty())
                ids += m_model.tokenize(word);
        }
    }
}

Encoding JsonTokenizer::encode(const QString &text, bool addSpecialTokens) const
{
    return m_postProcessor(tokenizeText(text), nullptr, addSpecialTokens);
}

Encoding JsonTokenizer::encodePair(const QString &first, const QString &second, bool addSpecialTokens) const
{
    const Encoding secondEncoding = tokenizeText(second);
    return m_postProcessor(tokenizeText(first), &secondEncoding, addSpecialTokens);
}

QString JsonTokenizer::decode(const QVector<qint64> &ids, bool skipSpecialTokens) const
{
    QStringList tokens;
    for (qint64 id : ids) {
        if (skipSpecialTokens && m_specialIds.contains(id))
            continue;
        const QString token = idToToken(id);
        if (!token.isEmpty())
            tokens.append(token);
    }
    const QString text = m_decoder(tokens).join(QString());
    return m_config.cleanUpTokenizationSpaces ? cleanUpTokenizationSpaces(text) : text;
}

QString JsonTokenizer::idToToken(qint64 id) const
{
    const auto it = m_addedTokens.constFind(id);
    return it != m_addedTokens.constEnd() ? *it : m_model.vocabulary.token(id);
}

std::optional<qint64> JsonTokenizer::tokenToId(const QString &token) const
{
    const auto it = m_addedIds.constFind(token);
    return it != m_addedIds.constEnd() ? std::optional<qint64>(*it) : m_model.vocabulary.id(token);
}

qint64 JsonTokenizer::vocabSize() const
{
    qint64 size = m_model.vocabulary.size();
    for (qint64 id : m_addedTokens.keys())
        size = std::max(size, id + 1);
    return size;
}

} // namespace surfing
