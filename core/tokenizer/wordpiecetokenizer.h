// BERT's tokenizer from vocab.txt, as Hugging Face's BertTokenizer: BasicTokenizer, then WordPiece;
// [CLS] text [SEP] (and "b [SEP]" with token type 1 for a pair).
#pragma once

#include "addedtokensplitter.h"
#include "bertbasictokenizer.h"
#include "tokenizer.h"
#include "wordpiecemodel.h"

#include <QSet>

namespace surfing {

class WordPieceTokenizer : public Tokenizer
{
public:
    // Throws surfing::Error naming VOCABPATH when it cannot be read.
    WordPieceTokenizer(const QString &vocabPath, TokenizerConfig config);

    Encoding encode(const QString &text, bool addSpecialTokens = true) const override;
    Encoding encodePair(const QString &first, const QString &second,
                        bool addSpecialTokens = true) const override;
    QString decode(const QVector<qint64> &ids, bool skipSpecialTokens = true) const override;

    QString idToToken(qint64 id) const override { return m_wordPiece.vocabulary().token(id); }
    std::optional<qint64> tokenToId(const QString &token) const override;
    qint64 vocabSize() const override { return m_wordPiece.vocabulary().size(); }

private:
    static TokenizerConfig withBertDefaults(TokenizerConfig config);
    QVector<qint64> tokenizeText(const QString &text) const;
    Encoding special(const QString &token) const;

    BertBasicTokenizer m_basic;
    WordPieceModel m_wordPiece;
    AddedTokenSplitter m_specialSplitter;
    QSet<qint64> m_specialIds;
};

} // namespace surfing
