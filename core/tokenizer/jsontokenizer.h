// A Hugging Face tokenizer.json: added tokens, normalizer, pre-tokenizer, model (BPE with byte
// level or byte fallback, WordPiece, WordLevel), post-processor and decoder, run as the
// `tokenizers` library does.
#pragma once

#include "addedtokensplitter.h"
#include "jsondecoder.h"
#include "jsonmodel.h"
#include "jsonnormalizer.h"
#include "jsonpostprocessor.h"
#include "jsonpretokenizer.h"
#include "tokenizer.h"

#include <QHash>
#include <QJsonArray>
#include <QSet>

namespace surfing {

class JsonTokenizer : public Tokenizer
{
public:
    // Throws surfing::Error naming PATH and the component it cannot read.
    JsonTokenizer(const QString &path, TokenizerConfig config);
    // The parsed contents of a tokenizer.json; SOURCE names it in errors.
    JsonTokenizer(const QJsonObject &json, const QString &source, TokenizerConfig config);

    Encoding encode(const QString &text, bool addSpecialTokens = true) const override;
    Encoding encodePair(const QString &first, const QString &second,
                        bool addSpecialTokens = true) const override;
    QString decode(const QVector<qint64> &ids, bool skipSpecialTokens = true) const override;

    QString idToToken(qint64 id) const override;
    std::optional<qint64> tokenToId(const QString &token) const override;
    qint64 vocabSize() const override;

private:
    void readAddedTokens(const QJsonArray &tokens, const QString &path);
    void appendPlainText(const QString &normalized, bool atTextStart, QVector<qint64> &ids) const;
    void applyConfigBosEos();
    Encoding tokenizeText(const QString &text) const;

    JsonModel m_model;
    Normalizer m_normalizer;
    PreTokenizer m_preTokenizer;
    PostProcessor m_postProcessor;
    Decoder m_decoder;
    QHash<QString, qint64> m_addedIds;
    QHash<qint64, QString> m_addedTokens;
    QSet<qint64> m_specialIds;
    AddedTokenSplitter m_addedSplitter;       // tokens with "normalized": false, on the raw text
    AddedTokenSplitter m_normalizedSplitter;  // "normalized": true, on the normalized text
    QHash<QString, qint64> m_normalizedIds;   // their normalized content -> id
};

} // namespace surfing
