#include "inference/tensorops.h"

#include "base/error.h"
#include "inference/unitweights.h"

#include <QJsonValue>
#include <algorithm>
#include <cmath>
#include <vector>
#include <limits>

namespace surfing::ops {

int configInt(const QJsonObject &config, const QString &key, std::optional<int> fallback)
{
    const QJsonValue v = config.value(key);
    if (v.isUndefined() || v.isNull()) {
        if (fallback)
            return *fallback;
        throw Error(QStringLiteral("config.json: field '%1' is missing").arg(key));
    }
    if (!v.isDouble() || v.toDouble() != std::floor(v.toDouble()) || v.toDouble() < 0 || v.toDouble() > 1e9)
        throw Error(QStringLiteral("config.json: field '%1' must be a non-negative integer").arg(key));
    return v.toInt();
}

double configDouble(const QJsonObject &config, const QString &key, std::optional<double> fallback)
{
    const QJsonValue v = config.value(key);
    if (v.isUndefined() || v.isNull()) {
        if (fallback)
            return *fallback;
        throw Error(QStringLiteral("config.json: field '%1' is missing").arg(key));
    }
    if (!v.isDouble())
        throw Error(QStringLiteral("config.json: field '%1' must be a number").arg(key));
    return v.toDouble();
}

at::Tensor linear(const UnitWeights &w, const QString &name, const at::Tensor &x)
{
    const QString biasKey = name + QLatin1String(".bias"), weightKey = name + QLatin1String(".weight");
    const at::Tensor bias = w.contains(biasKey) ? w.get(biasKey) : at::Tensor();
    if (const auto arriving = w.arrivingRows(weightKey)) {
        if (at::Tensor y = affineArriving(x, *arriving, bias); y.defined())
            return y;
    }
    return affine(x, w.stored(weightKey), bias);
}

at::Tensor layerNorm(const at::Tensor &x, const at::Tensor &weight, const at::Tensor &bias, double eps)
{
    return at::layer_norm(x, {x.size(-1)}, weight, bias, eps);
}

at::Tensor rmsNorm(const at::Tensor &x, const at::Tensor &weight, double eps)
{
    const int64_t width = x.size(-1);
    if (x.scalar_type() != at::kFloat || weight.scalar_type() != at::kFloat || !x.is_contiguous()
        || !weight.is_contiguous() || weight.numel() != width) {
        const at::Tensor variance = x.pow(2).mean(-1, true);
        return weight * (x * at::rsqrt(variance + eps));
    }
    // One pass per row instead of five libtorch ops: on small models their fixed cost per call
    // was a tenth of a token's time.
    at::Tensor out = at::empty_like(x);
    const float *in = x.data_ptr<float>();
    const float *w = weight.data_ptr<float>();
    float *o = out.data_ptr<float>();
    const int64_t rows = width ? x.numel() / width : 0;
    for (int64_t r = 0; r < rows; ++r, in += width, o += width) {
        double sumOfSquares = 0;
        for (int64_t i = 0; i < width; ++i)
            sumOfSquares += double(in[i]) * in[i];
        const float scale = float(1.0 / std::sqrt(sumOfSquares / double(width) + eps));
        for (int64_t i = 0; i < width; ++i)
            o[i] = w[i] * (in[i] * scale);
    }
    return out;
}

at::Tensor geluTanh(const at::Tensor &x)
{
    const double c = std::sqrt(2.0 / M_PI);
    return 0.5 * x * (1.0 + at::tanh(c * (x + 0.044715 * at::pow(x, 3.0))));
}

at::Tensor geluErf(const at::Tensor &x)
{
    return at::gelu(x);
}

at::Tensor activation(const QString &name, const at::Tensor &x)
{
    if (name == QLatin1String("gelu"))
        return geluErf(x);
    if (name == QLatin1String("gelu_new") || name == QLatin1String("gelu_pytorch_tanh") || name == QLatin1String("gelu_fast"))
        return geluTanh(x);
    if (name == QLatin1String("relu"))
        return at::relu(x);
    if (name == QLatin1String("silu") || name == QLatin1String("swish"))
        return at::silu(x);
    if (name == QLatin1String("tanh"))
        return at::tanh(x);
    throw Error(QStringLiteral("config.json: activation '%1' is not supported (gelu, gelu_new, relu, silu)").arg(name));
}

at::Tensor activationInPlace(const QString &name, at::Tensor x)
{
    if (name == QLatin1String("gelu"))
        return at::gelu_(x);
    if (name == QLatin1String("relu"))
        return at::relu_(x);
    if (name == QLatin1String("silu") || name == QLatin1String("swish"))
        return at::silu_(x);
    if (name == QLatin1String("tanh"))
        return at::tanh_(x);
    return activation(name, x);
}

at::Tensor splitHeads(const at::Tensor &x, int64_t heads)
{
    const int64_t b = x.size(0), t = x.size(1);
    return x.view({b, t, heads, x.size(2) / heads}).transpose(1, 2);
}

at::Tensor mergeHeads(const at::Tensor &x)
{
    const int64_t b = x.size(0), h = x.size(1), t = x.size(2), d = x.size(3);
    return x.transpose(1, 2).contiguous().view({b, t, h * d});
}

namespace {

bool allFloat(std::initializer_list<const at::Tensor *> tensors)
{
    for (const at::Tensor *t : tensors)
        if (t->scalar_type() != at::kFloat || t->dim() != 4)
            return false;
    return true;
}

float dot(const float *a, const float *b, int64_t n)
{
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; ++i)
        s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

// One query row per head against all keys (a generation step), in plain loops: libtorch's
// matmul, softmax and their dispatch cost more than the arithmetic when the query is one row.
// Rows of q, k and v must be contiguous in their last dimension.
at::Tensor attendOneQuery(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v)
{
    const int64_t b = q.size(0), heads = q.size(1), d = q.size(3), dv = v.size(3);
    const int64_t kvHeads = k.size(1), tk = k.size(2), groups = heads / kvHeads;
    at::Tensor out = at::empty({b, heads, 1, dv}, q.options());
    std::vector<float> weights(static_cast<size_t>(tk));
    const float scale = float(1.0 / std::sqrt(double(d)));
    for (int64_t bi = 0; bi < b; ++bi) {
        for (int64_t h = 0; h < heads; ++h) {
            const int64_t j = h / groups;
            const float *query = q.data_ptr<float>() + bi * q.stride(0) + h * q.stride(1);
            const float *keys = k.data_ptr<float>() + bi * k.stride(0) + j * k.stride(1);
            const float *values = v.data_ptr<float>() + bi * v.stride(0) + j * v.stride(1);
            float best = -std::numeric_limits<float>::infinity();
            for (int64_t t = 0; t < tk; ++t) {
                weights[size_t(t)] = dot(query, keys + t * k.stride(2), d) * scale;
                best = std::max(best, weights[size_t(t)]);
            }
            double total = 0;
            for (float &w : weights) {
                w = std::exp(w - best);
                total += w;
            }
            float *o = out.data_ptr<float>() + (bi * heads + h) * dv;
            std::fill(o, o + dv, 0.0f);
            const float norm = float(1.0 / total);
            for (int64_t t = 0; t < tk; ++t) {
                const float w = weights[size_t(t)] * norm;
                const float *row = values + t * v.stride(2);
                for (int64_t i = 0; i < dv; ++i)
                    o[i] += w * row[i];
            }
        }
    }
    return out;
}

} // namespace

at::Tensor rotary(const at::Tensor &x, const at::Tensor &cos, const at::Tensor &sin)
{
    const int64_t d = x.size(-1), half = d / 2;
    if (!allFloat({&x, &cos, &sin}) || cos.size(1) != 1 || sin.size(1) != 1 || cos.stride(3) != 1 || sin.stride(3) != 1
        || x.stride(3) != 1 || cos.size(0) != x.size(0) || cos.size(2) != x.size(2) || cos.size(3) != d) {
        const at::Tensor rotated = at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
        return x * cos + rotated * sin;
    }
    // HF's rotate_half pairing (dims i and i + D/2), as x * cos + rotate_half(x) * sin.
    const int64_t b = x.size(0), heads = x.size(1), t = x.size(2);
    at::Tensor out = at::empty({b, heads, t, d}, x.options());
    float *o = out.data_ptr<float>();
    for (int64_t bi = 0; bi < b; ++bi)
        for (int64_t h = 0; h < heads; ++h)
            for (int64_t ti = 0; ti < t; ++ti, o += d) {
                const float *in = x.data_ptr<float>() + bi * x.stride(0) + h * x.stride(1) + ti * x.stride(2);
                const float *c = cos.data_ptr<float>() + bi * cos.stride(0) + ti * cos.stride(2);
                const float *s = sin.data_ptr<float>() + bi * sin.stride(0) + ti * sin.stride(2);
                for (int64_t i = 0; i < half; ++i) {
                    const float first = in[i] * c[i] + (-in[i + half]) * s[i];
                    const float second = in[i + half] * c[i + half] + in[i] * s[i + half];
                    o[i] = first;
                    o[i + half] = second;
                }
            }
    return out;
}

at::Tensor attend(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, const at::Tensor &allowed)
{
    if (!allowed.defined() && q.size(2) == 1 && allFloat({&q, &k, &v}) && q.stride(3) == 1 && k.stride(3) == 1
        && v.stride(3) == 1)
        return attendOneQuery(q, k, v);
    const int64_t b = q.size(0), heads = q.size(1), tq = q.size(2), d = q.size(3);
    const int64_t kvHeads = k.size(1), tk = k.size(2);
    const int64_t groups = heads / kvHeads;
    // The query heads that share a kv head become rows of one product with it, so the keys and
    // values are read where they lie instead of being copied `groups` times at every step.
    const at::Tensor grouped = q.reshape({b, kvHeads, groups * tq, d});
    at::Tensor scores = at::matmul(grouped, k.transpose(-1, -2)).div_(std::sqrt(double(d)));
    if (allowed.defined()) {
        const at::Tensor blocked = allowed.logical_not().expand({b, heads, tq, tk}).reshape({b, kvHeads, groups * tq, tk});
        scores.masked_fill_(blocked, std::numeric_limits<float>::lowest());
    }
    return at::matmul(at::softmax(scores, -1), v).view({b, heads, tq, v.size(3)});
}

at::Tensor causalMask(const at::Tensor &keyMask, int64_t queryLength)
{
    const int64_t total = keyMask.size(1);
    // One new token over unpadded keys (every generation step of a single prompt) sees all of
    // them: no mask to build or apply.
    if (queryLength == 1 && keyMask.size(0) == 1 && keyMask.to(at::kBool).all().item<bool>())
        return {};
    const int64_t past = total - queryLength;
    const at::Tensor keyIdx = at::arange(total, at::kLong).view({1, total});
    const at::Tensor queryIdx = at::arange(past, total, at::kLong).view({queryLength, 1});
    const at::Tensor causal = keyIdx.le(queryIdx);                        // [Tq, Tk]
    return causal.unsqueeze(0).unsqueeze(0).logical_and(keyMask.to(at::kBool).view({keyMask.size(0), 1, 1, total}));
}

} // namespace surfing::ops
