#include "inference/tensorops.h"

#include "base/error.h"
#include "inference/unitweights.h"

#include <QJsonValue>
#include <cmath>
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
    const QString bias = name + QLatin1String(".bias");
    return affine(x, w.stored(name + QLatin1String(".weight")), w.contains(bias) ? w.get(bias) : at::Tensor());
}

at::Tensor layerNorm(const at::Tensor &x, const at::Tensor &weight, const at::Tensor &bias, double eps)
{
    return at::layer_norm(x, {x.size(-1)}, weight, bias, eps);
}

at::Tensor rmsNorm(const at::Tensor &x, const at::Tensor &weight, double eps)
{
    const at::Tensor variance = x.pow(2).mean(-1, true);
    return weight * (x * at::rsqrt(variance + eps));
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

at::Tensor attend(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, const at::Tensor &allowed)
{
    at::Tensor keys = k, values = v;
    const int64_t groups = q.size(1) / k.size(1);
    if (groups > 1) {
        keys = k.repeat_interleave(groups, 1);
        values = v.repeat_interleave(groups, 1);
    }
    at::Tensor scores = at::matmul(q, keys.transpose(-1, -2)) / std::sqrt(double(q.size(-1)));
    if (allowed.defined())
        scores = scores.masked_fill(allowed.logical_not(), std::numeric_limits<float>::lowest());
    return at::matmul(at::softmax(scores, -1), values);
}

at::Tensor causalMask(const at::Tensor &keyMask, int64_t queryLength)
{
    const int64_t total = keyMask.size(1);
    const int64_t past = total - queryLength;
    const at::Tensor keyIdx = at::arange(total, at::kLong).view({1, total});
    const at::Tensor queryIdx = at::arange(past, total, at::kLong).view({queryLength, 1});
    const at::Tensor causal = keyIdx.le(queryIdx);                        // [Tq, Tk]
    return causal.unsqueeze(0).unsqueeze(0).logical_and(keyMask.to(at::kBool).view({keyMask.size(0), 1, 1, total}));
}

} // namespace surfing::ops
