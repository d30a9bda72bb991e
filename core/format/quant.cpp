#include "format/quant.h"

#include "base/error.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace surfing::quant {
namespace {

uint16_t toHalfBits(float value)
{
    const c10::Half h(value); // round to nearest even, as ggml's FP32_TO_FP16
    uint16_t bits;
    std::memcpy(&bits, &h, sizeof bits);
    return bits;
}

float fromHalfBits(uint16_t bits)
{
    return float(c10::Half(bits, c10::Half::from_bits()));
}

void quantizeQ8(const float *x, uint8_t *block)
{
    float amax = 0.0f;
    for (int j = 0; j < kBlockValues; ++j)
        amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t scale = toHalfBits(d);
    std::memcpy(block, &scale, 2);
    for (int j = 0; j < kBlockValues; ++j)
        block[2 + j] = uint8_t(int8_t(std::round(x[j] * id)));
}

void quantizeQ4(const float *x, uint8_t *block)
{
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < kBlockValues; ++j) {
        if (amax < std::fabs(x[j])) {
            amax = std::fabs(x[j]);
            max = x[j];
        }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t scale = toHalfBits(d);
    std::memcpy(block, &scale, 2);
    for (int j = 0; j < kBlockValues / 2; ++j) {
        const int lo = std::min(15, int(int8_t(x[j] * id + 8.5f)));
        const int hi = std::min(15, int(int8_t(x[j + 16] * id + 8.5f)));
        block[2 + j] = uint8_t(lo | (hi << 4));
    }
}

} // namespace

int blockBytes(QuantType type)
{
    return type == QuantType::Q8_0 ? kQ8BlockBytes : kQ4BlockBytes;
}

Dtype dtypeOf(QuantType type)
{
    return type == QuantType::Q8_0 ? Dtype::Q8_0 : Dtype::Q4_0;
}

std::optional<QuantType> quantTypeOf(Dtype dtype)
{
    switch (dtype) {
    case Dtype::Q8_0: return QuantType::Q8_0;
    case Dtype::Q4_0: return QuantType::Q4_0;
    default: return std::nullopt;
    }
}

std::optional<QuantType> quantTypeFromName(const QString &name)
{
    if (name.compare(QLatin1String("q8_0"), Qt::CaseInsensitive) == 0)
        return QuantType::Q8_0;
    if (name.compare(QLatin1String("q4_0"), Qt::CaseInsensitive) == 0)
        return QuantType::Q4_0;
    return std::nullopt;
}

QString quantTypeName(QuantType type)
{
    return type == QuantType::Q8_0 ? QStringLiteral("q8_0") : QStringLiteral("q4_0");
}

QByteArray quantize(QuantType type, const float *values, int64_t n)
{
    if (n % kBlockValues != 0)
        throw Error(QStringLiteral("cannot quantize %1 values: not a whole number of %2-value blocks").arg(n).arg(kBlockValues));
    const int64_t blocks = n / kBlockValues;
    QByteArray out(qsizetype(blocks * blockBytes(type)), Qt::Uninitialized);
    auto *dst = reinterpret_cast<uint8_t *>(out.data());
    for (int64_t b = 0; b < blocks; ++b) {
        if (type == QuantType::Q8_0)
            quantizeQ8(values + b * kBlockValues, dst + b * kQ8BlockBytes);
        else
            quantizeQ4(values + b * kBlockValues, dst + b * kQ4BlockBytes);
    }
    return out;
}

QByteArray quantizeTensor(QuantType type, Dtype from, QByteArrayView data)
{
    if (from == Dtype::F32) {
        std::vector<float> values(size_t(data.size() / 4));
        std::memcpy(values.data(), data.data(), values.size() * 4);
        return quantize(type, values.data(), int64_t(values.size()));
    }
    if (from != Dtype::F16 && from != Dtype::BF16)
        throw Error(QStringLiteral("cannot quantize %1 values; only F32, F16 and BF16").arg(dtypeName(from)));
    std::vector<float> values(size_t(data.size() / 2));
    for (size_t i = 0; i < values.size(); ++i) {
        uint16_t bits;
        std::memcpy(&bits, data.data() + 2 * i, 2);
        values[i] = from == Dtype::F16 ? fromHalfBits(bits) : float(c10::BFloat16(bits, c10::BFloat16::from_bits()));
    }
    return quantize(type, values.data(), int64_t(values.size()));
}

bool isQuantizable(Dtype dtype, const QVector<qint64> &shape)
{
    return (dtype == Dtype::F32 || dtype == Dtype::F16 || dtype == Dtype::BF16) && shape.size() == 2
           && shape[0] > 0 && shape[1] > 0 && shape[1] % kBlockValues == 0;
}

float blockScale(const uint8_t *data, QuantType type, int64_t block)
{
    uint16_t bits;
    std::memcpy(&bits, data + block * blockBytes(type), 2);
    return fromHalfBits(bits);
}

void dequantize(QuantType type, const uint8_t *data, int64_t blocks, float *out)
{
    for (int64_t b = 0; b < blocks; ++b) {
        const float d = blockScale(data, type, b);
        const uint8_t *q = data + b * blockBytes(type) + 2;
        float *y = out + b * kBlockValues;
        if (type == QuantType::Q8_0) {
            for (int j = 0; j < kBlockValues; ++j)
                y[j] = d * float(int8_t(q[j]));
        } else {
            for (int j = 0; j < kBlockValues / 2; ++j) {
                y[j] = d * float(int(q[j] & 15) - 8);
                y[j + 16] = d * float(int(q[j] >> 4) - 8);
            }
        }
    }
}

int64_t firstNonFiniteScale(QuantType type, const uint8_t *data, int64_t blocks)
{
    const int64_t stride = blockBytes(type);
    for (int64_t b = 0; b < blocks; ++b) {
        uint16_t bits;
        std::memcpy(&bits, data + b * stride, 2);
        if ((bits & 0x7c00u) == 0x7c00u) // exponent all ones: infinity or NaN
            return b;
    }
    return -1;
}

void checkQuantizedTensors(const SafetensorsHeader &header, QByteArrayView file, const QString &source)
{
    for (const TensorInfo &t : header.tensors) {
        const auto type = quantTypeOf(t.dtype);
        if (!type)
            continue;
        const auto *data = reinterpret_cast<const uint8_t *>(file.data() + header.dataOffset + t.begin);
        const int64_t blocks = t.byteSize() / blockBytes(*type);
        const int64_t bad = firstNonFiniteScale(*type, data, blocks);
        if (bad >= 0)
            throw Error(QStringLiteral("%1: tensor '%2' (%3): block %4 of %5 has a non-finite scale (%6); refusing to compute on it")
                            .arg(source, t.name, dtypeName(t.dtype)).arg(bad).arg(blocks)
                            .arg(std::isnan(blockScale(data, *type, bad)) ? QStringLiteral("NaN") : QStringLiteral("infinity")));
    }
}

} // namespace surfing::quant
