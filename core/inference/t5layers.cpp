#include "inference/t5layers.h"

#include "inference/linearops.h"

#include <cmath>
#include <limits>

namespace surfing::t5 {
namespace {

const float kLowest = std::numeric_limits<float>::lowest();

at::Tensor linear(const UnitWeights &w, const QString &key, const at::Tensor &x)
{
    return ops::affine(x, w.stored(key));
}

// [batch, length, heads*d_kv] -> [batch, heads, length, d_kv]
at::Tensor splitHeads(const at::Tensor &x, const T5Config &c)
{
    return x.view({x.size(0), -1, c.numHeads, c.dKv}).transpose(1, 2);
}

at::Tensor mergeHeads(const at::Tensor &x, const T5Config &c)
{
    return x.transpose(1, 2).contiguous().view({x.size(0), -1, c.innerDim()});
}

// No 1/sqrt(d_kv): T5 folds it into the initialisation. Softmax in float32 as transformers does.
at::Tensor attend(const at::Tensor &q, const KeyValue &kv, const at::Tensor &bias)
{
    at::Tensor scores = at::matmul(q, kv.key.transpose(2, 3));
    scores = scores + bias;
    const at::Tensor weights = at::softmax(scores.to(at::kFloat), -1).to(scores.scalar_type());
    return at::matmul(weights, kv.value);
}

KeyValue project(const UnitWeights &w, const QString &prefix, const at::Tensor &x, const T5Config &c)
{
    return {splitHeads(linear(w, prefix + QStringLiteral("k.weight"), x), c),
            splitHeads(linear(w, prefix + QStringLiteral("v.weight"), x), c)};
}

at::Tensor selfAttention(const UnitWeights &w, const T5Config &c, const at::Tensor &x,
                         const at::Tensor &bias, KeyValue *cache)
{
    const QString prefix = QStringLiteral("layer.0.SelfAttention.");
    const at::Tensor q = splitHeads(linear(w, prefix + QStringLiteral("q.weight"), x), c);
    KeyValue kv = project(w, prefix, x, c);
    if (cache) {
        if (cache->defined())
            kv = {at::cat({cache->key, kv.key}, 2), at::cat({cache->value, kv.value}, 2)};
        *cache = kv;
    }
    return linear(w, prefix + QStringLiteral("o.weight"), mergeHeads(attend(q, kv, bias), c));
}

at::Tensor crossAttention(const UnitWeights &w, const T5Config &c, const at::Tensor &x,
                          const at::Tensor &encoderOutput, const at::Tensor &bias, KeyValue *cache)
{
    const QString prefix = QStringLiteral("layer.1.EncDecAttention.");
    const at::Tensor q = splitHeads(linear(w, prefix + QStringLiteral("q.weight"), x), c);
    KeyValue kv;
    if (cache && cache->defined()) {
        kv = *cache;
    } else {
        kv = project(w, prefix, encoderOutput, c);
        if (cache)
            *cache = kv;
    }
    return linear(w, prefix + QStringLiteral("o.weight"), mergeHeads(attend(q, kv, bias), c));
}

// transformers' NewGELUActivation, term for term.
at::Tensor geluNew(const at::Tensor &x)
{
    return 0.5 * x * (1.0 + at::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * at::pow(x, 3.0))));
}

at::Tensor activate(const at::Tensor &x, T5Config::Activation act)
{
    switch (act) {
    case T5Config::Activation::Relu: return at::relu(x);
    case T5Config::Activation::GeluNew: return geluNew(x);
    case T5Config::Activation::Gelu: return at::gelu(x);
    }
    return x;
}

at::Tensor feedForward(const UnitWeights &w, const T5Config &c, const QString &layer, const at::Tensor &x)
{
    const QString prefix = layer + QStringLiteral(".DenseReluDense.");
    at::Tensor h;
    if (c.gated)
        h = activate(linear(w, prefix + QStringLiteral("wi_0.weight"), x), c.activation)
            * linear(w, prefix + QStringLiteral("wi_1.weight"), x);
    else
        h = activate(linear(w, prefix + QStringLiteral("wi.weight"), x), c.activation);
    return linear(w, prefix + QStringLiteral("wo.weight"), h);
}

at::Tensor norm(const UnitWeights &w, const T5Config &c, const QString &layer, const at::Tensor &x)
{
    return rmsNorm(x, w.get(layer + QStringLiteral(".layer_norm.weight")), c.layerNormEps);
}

} // namespace

at::Tensor rmsNorm(const at::Tensor &x, const at::Tensor &weight, double eps)
{
    const at::Tensor variance = x.to(at::kFloat).pow(2).mean(-1, true);
    return weight * (x * at::rsqrt(variance + eps));
}

at::Tensor relativePositionBuckets(const at::Tensor &relativePosition, bool bidirectional,
                                   int numBuckets, int maxDistance)
{
    at::Tensor buckets = at::zeros_like(relativePosition);
    at::Tensor distance;
    if (bidirectional) {
        numBuckets /= 2;
        buckets = buckets + relativePosition.gt(0).to(at::kLong) * numBuckets;
        distance = relativePosition.abs();
    } else {
        distance = -at::min(relativePosition, at::zeros_like(relativePosition));
    }
    const int maxExact = numBuckets / 2;
    const at::Tensor isSmall = distance.lt(maxExact);
    // The float32 log term truncated toward zero decides the log-spaced edges, as in transformers.
    at::Tensor large = maxExact
        + (at::log(distance.to(at::kFloat) / maxExact) / std::log(double(maxDistance) / maxExact)
           * (numBuckets - maxExact)).to(at::kLong);
    large = at::clamp_max(large, numBuckets - 1);
    return buckets + at::where(isSmall, distance, large);
}

at::Tensor positionBias(const at::Tensor &table, int64_t queryLength, int64_t keyLength,
                        int64_t queryOffset, bool bidirectional, const T5Config &config)
{
    const at::Tensor query = at::arange(queryOffset, queryOffset + queryLength, at::kLong).unsqueeze(1);
    const at::Tensor key = at::arange(keyLength, at::kLong).unsqueeze(0);
    const at::Tensor buckets = relativePositionBuckets(key - query, bidirectional, config.numBuckets,
                                                       config.maxDistance);
    // [q, k, heads] -> [1, heads, q, k]
    return at::embedding(table, buckets).permute({2, 0, 1}).unsqueeze(0);
}

at::Tensor paddingBias(const at::Tensor &keyMask)
{
    const at::Tensor mask = keyMask.to(at::kFloat).unsqueeze(1).unsqueeze(1);
    return (1.0 - mask) * kLowest;
}

at::Tensor causalBias(int64_t queryLength, int64_t keyLength, int64_t queryOffset)
{
    const at::Tensor query = at::arange(queryOffset, queryOffset + queryLength, at::kLong).unsqueeze(1);
    const at::Tensor key = at::arange(keyLength, at::kLong).unsqueeze(0);
    const at::Tensor allowed = key.le(query).to(at::kFloat);
    return ((1.0 - allowed) * kLowest).unsqueeze(0).unsqueeze(0);
}

at::Tensor encoderBlock(const UnitWeights &w, const T5Config &config, const at::Tensor &hidden,
                        const at::Tensor &bias)
{
    at::Tensor h = hidden + selfAttention(w, config, norm(w, config, QStringLiteral("layer.0"), hidden), bias, nullptr);
    return h + feedForward(w, config, QStringLiteral("layer.1"), norm(w, config, QStringLiteral("layer.1"), h));
}

at::Tensor decoderBlock(const UnitWeights &w, const T5Config &config, const at::Tensor &hidden,
                        const at::Tensor &selfBias, const at::Tensor &encoderOutput,
                        const at::Tensor &crossBias, DecoderLayerCache *cache)
{
    at::Tensor h = hidden + selfAttention(w, config, norm(w, config, QStringLiteral("layer.0"), hidden),
                                          selfBias, cache ? &cache->self : nullptr);
    h = h + crossAttention(w, config, norm(w, config, QStringLiteral("layer.1"), h), encoderOutput,
                           crossBias, cache ? &cache->cross : nullptr);
    return h + feedForward(w, config, QStringLiteral("layer.2"), norm(w, config, QStringLiteral("layer.2"), h));
}

} // namespace surfing::t5
