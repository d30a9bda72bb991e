#include "inference/rope.h"

#include "base/error.h"
#include "inference/tensorops.h"

#include <QJsonValue>
#include <cmath>

namespace surfing {
namespace {

double scalingNumber(const QJsonObject &scaling, const char *key)
{
    const QJsonValue v = scaling.value(QLatin1String(key));
    if (!v.isDouble() || !(v.toDouble() > 0))
        throw Error(QStringLiteral("config.json: rope_scaling.%1 must be a positive number").arg(QLatin1String(key)));
    return v.toDouble();
}

// _compute_llama3_parameters: wavelengths shorter than original_max_position_embeddings /
// high_freq_factor keep their frequency, longer than .../low_freq_factor are divided by factor,
// and the band in between is interpolated. float32 throughout, as in HF.
at::Tensor llama3Scaled(const at::Tensor &invFreq, const QJsonObject &scaling)
{
    const double factor = scalingNumber(scaling, "factor");
    const double lowFreqFactor = scalingNumber(scaling, "low_freq_factor");
    const double highFreqFactor = scalingNumber(scaling, "high_freq_factor");
    const double oldContext = scalingNumber(scaling, "original_max_position_embeddings");
    if (highFreqFactor <= lowFreqFactor)
        throw Error(QStringLiteral("config.json: rope_scaling.high_freq_factor must exceed low_freq_factor"));
    const double lowFreqWavelen = oldContext / lowFreqFactor;
    const double highFreqWavelen = oldContext / highFreqFactor;
    // scalar / tensor is reciprocal() * scalar in PyTorch; kept so thresholds fall the same way.
    const at::Tensor wavelen = invFreq.reciprocal() * (2 * M_PI);
    at::Tensor scaled = at::where(wavelen > lowFreqWavelen, invFreq / factor, invFreq);
    const at::Tensor smooth = (wavelen.reciprocal() * oldContext - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
    const at::Tensor smoothed = (1 - smooth) * scaled / factor + smooth * scaled;
    const at::Tensor medium = (wavelen < highFreqWavelen).logical_not().logical_and((wavelen > lowFreqWavelen).logical_not());
    return at::where(medium, smoothed, scaled);
}

} // namespace

at::Tensor ropeInverseFrequencies(const QJsonObject &config, int headDim)
{
    const double theta = ops::configDouble(config, QStringLiteral("rope_theta"), 10000.0);
    const at::Tensor invFreq = 1.0 / at::pow(theta, at::arange(0, headDim, 2, at::kLong).to(at::kFloat) / float(headDim));
    const QJsonValue scalingValue = config.value(QLatin1String("rope_scaling"));
    if (scalingValue.isNull() || scalingValue.isUndefined())
        return invFreq;
    if (!scalingValue.isObject())
        throw Error(QStringLiteral("config.json: rope_scaling must be an object or null"));
    const QJsonObject scaling = scalingValue.toObject();
    // Older configs name the type "type"; HF reads "rope_type" first.
    const QString type = scaling.value(QLatin1String("rope_type")).toString(scaling.value(QLatin1String("type")).toString());
    if (type == QLatin1String("default"))
        return invFreq;
    if (type == QLatin1String("llama3"))
        return llama3Scaled(invFreq, scaling);
    throw Error(QStringLiteral("config.json: rope_scaling rope_type '%1' is not supported (supported: llama3, default)")
                    .arg(type.isEmpty() ? QStringLiteral("(none given)") : type));
}

std::pair<at::Tensor, at::Tensor> ropeCosSin(const at::Tensor &invFreq, const at::Tensor &positions)
{
    const at::Tensor freqs = positions.to(at::kFloat).unsqueeze(-1) * invFreq;
    const at::Tensor emb = at::cat({freqs, freqs}, -1).unsqueeze(1);
    return {emb.cos(), emb.sin()};
}

} // namespace surfing
