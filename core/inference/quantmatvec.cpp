#include "inference/quantmatvec.h"

#include "inference/quantmatvec_internal.h"

#include <cstring>

namespace surfing::kernels {
namespace {

using quant::QuantType;
constexpr int kBlock = quant::kBlockValues;

// The 32 values of one block, without its scale (small integers, exact in float).
inline void blockValues(QuantType type, const uint8_t *block, float *v)
{
    const uint8_t *q = block + 2;
    if (type == QuantType::Q8_0) {
        for (int j = 0; j < kBlock; ++j)
            v[j] = float(int8_t(q[j]));
    } else {
        for (int j = 0; j < kBlock / 2; ++j) {
            v[j] = float(int(q[j] & 15) - 8);
            v[j + 16] = float(int(q[j] >> 4) - 8);
        }
    }
}

inline float blockScale(const uint8_t *block)
{
    uint16_t bits;
    std::memcpy(&bits, block, 2);
    return halfToFloat(bits);
}

void matvecPortable(QuantType type, const uint8_t *w, int64_t cols, const float *x, float *y, const float *bias,
                    int64_t rowBegin, int64_t rowEnd)
{
    const int64_t blocks = cols / kBlock, stride = quant::blockBytes(type);
    float v[kBlock];
    for (int64_t r = rowBegin; r < rowEnd; ++r) {
        const uint8_t *row = w + r * blocks * stride;
        float acc = 0.0f;
        for (int64_t b = 0; b < blocks; ++b) {
            blockValues(type, row + b * stride, v);
            const float *xb = x + b * kBlock;
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (int j = 0; j < kBlock; j += 4) {
                s0 += v[j] * xb[j];
                s1 += v[j + 1] * xb[j + 1];
                s2 += v[j + 2] * xb[j + 2];
                s3 += v[j + 3] * xb[j + 3];
            }
            acc += blockScale(row + b * stride) * ((s0 + s1) + (s2 + s3));
        }
        y[r] = acc + (bias ? bias[r] : 0.0f);
    }
}

void dequantizePortable(QuantType type, const uint8_t *w, int64_t cols, int64_t rowBegin, int64_t rowEnd, float *dst)
{
    const int64_t blocks = cols / kBlock, stride = quant::blockBytes(type);
    float v[kBlock];
    for (int64_t r = rowBegin; r < rowEnd; ++r) {
        const uint8_t *row = w + r * blocks * stride;
        float *out = dst + (r - rowBegin) * cols;
        for (int64_t b = 0; b < blocks; ++b) {
            blockValues(type, row + b * stride, v);
            const float d = blockScale(row + b * stride);
            for (int j = 0; j < kBlock; ++j)
                out[b * kBlock + j] = d * v[j];
        }
    }
}

// A path the CPU lacks is never run, whoever asks for it.
Path usable(Path path)
{
    return isSupported(path) ? path : bestSupportedPath();
}

} // namespace

int64_t quantRowBytes(QuantType type, int64_t cols)
{
    return cols / kBlock * quant::blockBytes(type);
}

void quantMatvec(QuantType type, const uint8_t *w, int64_t cols, const float *x, float *y, const float *bias,
                 int64_t rowBegin, int64_t rowEnd, Path path)
{
    switch (usable(path)) {
#if SURFING_KERNELS_X86
    case Path::Avx512: return detail::quantMatvecAvx512(type, w, cols, x, y, bias, rowBegin, rowEnd);
    case Path::Avx2: return detail::quantMatvecAvx2(type, w, cols, x, y, bias, rowBegin, rowEnd);
#endif
    default: return matvecPortable(type, w, cols, x, y, bias, rowBegin, rowEnd);
    }
}

void quantDequantizeRows(QuantType type, const uint8_t *w, int64_t cols, int64_t rowBegin, int64_t rowEnd, float *dst,
                         Path path)
{
    switch (usable(path)) {
#if SURFING_KERNELS_X86
    case Path::Avx512: return detail::quantDequantizeAvx512(type, w, cols, rowBegin, rowEnd, dst);
    case Path::Avx2: return detail::quantDequantizeAvx2(type, w, cols, rowBegin, rowEnd, dst);
#endif
    default: return dequantizePortable(type, w, cols, rowBegin, rowEnd, dst);
    }
}

} // namespace surfing::kernels
