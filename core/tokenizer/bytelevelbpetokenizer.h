// GPT-2's tokenizer from vocab.json + merges.txt, as Hugging Face's GPT2Tokenizer: the GPT-2
// pre-tokenizer, bytes mapped to printable characters, then BPE. Adds BOS only when
// tokenizer_config.json says add_bos_token.
#pragma once

#include "addedtokensplitter.h"
#include "bpemodel.h"
#include "tokenizer.h"

#include <QSet>

namespace surfing {

class ByteLevelBpeTokenizer : public Tokenizer
{
public:
    // Throws surfing::Error naming the file that cannot be read or is invalid.
    ByteLevelBpeTokenizer(const QString &vocabPath, const QString &mergesPath, TokenizerConfig config);

    Encoding encode(const QString &text, bool addSpecialTokens = true) const override;
    QString decode(const QVector<qint64> &ids, bool skipSpecialTokens = true) const override;

    QString idToToken(qint64 id) const override { return m_bpe.vocabulary().token(id); }
    std::optional<qint64> tokenToId(const QString &token) const override;
    qint64 vocabSize() const override { return m_bpe.vocabulary().size(); }

private:
    static TokenizerConfig withGpt2Defaults(TokenizerConfig config);

    BpeModel m_bpe;
    AddedTokenSplitter m_specialSplitter;
    QSet<qint64> m_specialIds;
};

} // namespace surfing
