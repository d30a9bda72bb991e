#include "inference/t5config.h"

#include "base/error.h"

namespace surfing {
namespace {

int intField(const QJsonObject &json, const char *key, const QString &source, int fallback = -1)
{
    const QJsonValue value = json.value(QLatin1String(key));
    if (value.isUndefined() && fallback >= 0)
        return fallback;
    if (!value.isDouble() || value.toDouble() != double(qint64(value.toDouble())) || value.toDouble() < 0)
        throw Error(QStringLiteral("%1: field '%2' must be a non-negative integer").arg(source, QLatin1String(key)));
    return value.toInt();
}

int positiveField(const QJsonObject &json, const char *key, const QString &source, int fallback = -1)
{
    const int v = intField(json, key, source, fallback);
    if (v <= 0)
        throw Error(QStringLiteral("%1: field '%2' must be positive").arg(source, QLatin1String(key)));
    return v;
}

T5Config::Activation activationOf(const QString &name, const QString &source)
{
    if (name == QLatin1String("relu"))
        return T5Config::Activation::Relu;
    if (name == QLatin1String("gelu_new") || name == QLatin1String("gelu_pytorch_tanh"))
        return T5Config::Activation::GeluNew;
    if (name == QLatin1String("gelu"))
        return T5Config::Activation::Gelu;
    throw Error(QStringLiteral("%1: activation '%2' is not supported (relu, gelu, gelu_new)").arg(source, name));
}

// Mirrors transformers' T5Config: "gated-gelu" means gelu_new for backward compatibility.
void readFeedForward(const QJsonObject &json, const QString &source, T5Config &c)
{
    const QString proj = json.value(QLatin1String("feed_forward_proj")).toString(QStringLiteral("relu"));
    const QStringList parts = proj.split(QLatin1Char('-'));
    if (parts.size() > 2 || (parts.size() == 2 && parts[0] != QLatin1String("gated")))
        throw Error(QStringLiteral("%1: feed_forward_proj '%2' is not 'ACT' or 'gated-ACT'").arg(source, proj));
    c.gated = parts.size() == 2;
    const QString act = parts.last() == QLatin1String("gelu") && c.gated ? QStringLiteral("gelu_new") : parts.last();
    c.activation = activationOf(act, source + QStringLiteral(" (feed_forward_proj)"));
}

} // namespace

T5Config T5Config::fromJson(const QJsonObject &json, const QString &source)
{
    T5Config c;
    c.vocabSize = positiveField(json, "vocab_size", source);
    c.dModel = positiveField(json, "d_model", source);
    c.dKv = positiveField(json, "d_kv", source);
    c.dFf = positiveField(json, "d_ff", source);
    c.numHeads = positiveField(json, "num_heads", source);
    c.numLayers = positiveField(json, "num_layers", source);
    c.numDecoderLayers = positiveField(json, "num_decoder_layers", source, c.numLayers);
    c.numBuckets = positiveField(json, "relative_attention_num_buckets", source, 32);
    c.maxDistance = positiveField(json, "relative_attention_max_distance", source, 128);
    if (c.numBuckets < 4 || c.maxDistance <= c.numBuckets / 4)
        throw Error(QStringLiteral("%1: relative_attention_num_buckets %2 / max_distance %3 are inconsistent")
                        .arg(source).arg(c.numBuckets).arg(c.maxDistance));
    const QJsonValue eps = json.value(QLatin1String("layer_norm_epsilon"));
    if (!eps.isUndefined() && (!eps.isDouble() || eps.toDouble() <= 0))
        throw Error(QStringLiteral("%1: field 'layer_norm_epsilon' must be a positive number").arg(source));
    c.layerNormEps = eps.toDouble(1e-6);
    readFeedForward(json, source, c);
    const QJsonValue tie = json.value(QLatin1String("tie_word_embeddings"));
    if (!tie.isUndefined() && !tie.isBool())
        throw Error(QStringLiteral("%1: field 'tie_word_embeddings' must be true or false").arg(source));
    c.tieWordEmbeddings = tie.toBool(true);
    c.decoderStartTokenId = intField(json, "decoder_start_token_id", source, 0);
    c.eosTokenId = intField(json, "eos_token_id", source, 1);
    c.padTokenId = intField(json, "pad_token_id", source, 0);
    return c;
}

} // namespace surfing
