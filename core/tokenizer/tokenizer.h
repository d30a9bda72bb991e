// Text <-> token ids for a model directory: the interface every tokenizer implements, and load().
#pragma once

#include "encoding.h"
#include "tokenizerconfig.h"

#include <QLoggingCategory>
#include <QString>
#include <QStringList>
#include <QVector>
#include <memory>
#include <optional>

namespace surfing {

Q_DECLARE_LOGGING_CATEGORY(lcTokenizer)

class Tokenizer
{
public:
    virtual ~Tokenizer();

    // Picks MODEL_DIR/tokenizer.json, else vocab.txt, else vocab.json + merges.txt, and reads
    // tokenizer_config.json / special_tokens_map.json next to it. Throws surfing::Error naming
    // the file (and field or component) at fault.
    static std::unique_ptr<Tokenizer> load(const QString &modelDir);

    // Never throws on any input text; addSpecialTokens adds what the model expects ([CLS]/[SEP], BOS).
    virtual Encoding encode(const QString &text, bool addSpecialTokens = true) const = 0;
    // A sentence pair (BERT: [CLS] a [SEP] b [SEP] with token type ids 0 then 1). The default
    // concatenates the two plain encodings.
    virtual Encoding encodePair(const QString &first, const QString &second,
                                bool addSpecialTokens = true) const;
    // Encodes each text and pads them to the longest (the side tokenizer_config.json names).
    QVector<Encoding> encodeBatch(const QStringList &texts, bool addSpecialTokens = true) const;

    virtual QString decode(const QVector<qint64> &ids, bool skipSpecialTokens = true) const = 0;

    virtual QString idToToken(qint64 id) const = 0;  // empty when unknown
    virtual std::optional<qint64> tokenToId(const QString &token) const = 0;
    virtual qint64 vocabSize() const = 0;

    std::optional<qint64> bosId() const { return specialId(m_config.bosToken); }
    std::optional<qint64> eosId() const { return specialId(m_config.eosToken); }
    std::optional<qint64> padId() const { return specialId(m_config.padToken); }
    std::optional<qint64> unkId() const { return specialId(m_config.unkToken); }
    const TokenizerConfig &config() const { return m_config; }

protected:
    explicit Tokenizer(TokenizerConfig config) : m_config(std::move(config)) {}
    std::optional<qint64> specialId(const QString &token) const;
    // Makes an Encoding with token types 0 and attention 1 from ids, naming each token.
    Encoding makeEncoding(const QVector<qint64> &ids) const;
    // transformers' clean_up_tokenization: " ." -> ".", " n't" -> "n't", ...
    static QString cleanUpTokenizationSpaces(QString text);

    TokenizerConfig m_config;
};

} // namespace surfing
