// AVX2+FMA+F16C and AVX-512 (F, BW, VL) kernels for Q8_0 / Q4_0 blocks. As in matvec_x86.cpp each
// function carries its own target attribute and runs only after quantmatvec.cpp saw the CPU has
// the instructions. A block's 32 small integers are widened in registers (vpmovsxbd, vcvtdq2ps),
// multiplied with the float32 activations and the block's sum scaled once by its f16 scale: the
// activations stay float32 (llama.cpp instead rounds them to Q8 blocks and multiplies integers).
#include "inference/quantmatvec_internal.h"

#if SURFING_KERNELS_X86

#include "inference/x86targets.h"

namespace surfing::kernels::detail {
namespace {

using quant::QuantType;
constexpr int kBlock = quant::kBlockValues;

template <QuantType T>
constexpr int64_t kStride = T == QuantType::Q8_0 ? quant::kQ8BlockBytes : quant::kQ4BlockBytes;

SURFING_AVX2 inline float scaleOf(const uint8_t *block)
{
    uint16_t bits;
    __builtin_memcpy(&bits, block, 2);
    return _cvtsh_ss(bits);
}

// The block's 32 values as signed bytes: lo = values 0..15, hi = values 16..31.
template <QuantType T>
SURFING_AVX2 inline void blockBytes16(const uint8_t *block, __m128i &lo, __m128i &hi)
{
    if constexpr (T == QuantType::Q8_0) {
        lo = _mm_loadu_si128(reinterpret_cast<const __m128i *>(block + 2));
        hi = _mm_loadu_si128(reinterpret_cast<const __m128i *>(block + 18));
    } else {
        const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i *>(block + 2));
        const __m128i mask = _mm_set1_epi8(0x0f), eight = _mm_set1_epi8(8);
        lo = _mm_sub_epi8(_mm_and_si128(packed, mask), eight);
        hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(packed, 4), mask), eight);
    }
}

// ---- AVX2: a block is 4 vectors of 8 ----

template <QuantType T>
SURFING_AVX2 inline void block8(const uint8_t *block, __m256 v[4])
{
    __m128i lo, hi;
    blockBytes16<T>(block, lo, hi);
    v[0] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo));
    v[1] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)));
    v[2] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi));
    v[3] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)));
}

SURFING_AVX2 inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// R rows at once: each block of x is loaded once for R rows.
template <QuantType T, int R>
SURFING_AVX2 void rowsAvx2(const uint8_t *w, int64_t blocks, const float *x, float *y, const float *bias, int64_t r)
{
    const int64_t rowBytes = blocks * kStride<T>;
    __m256 acc[R];
#pragma GCC unroll 8
    for (int k = 0; k < R; ++k)
        acc[k] = _mm256_setzero_ps();
    for (int64_t b = 0; b < blocks; ++b) {
        const float *xb = x + b * kBlock;
        const __m256 x0 = _mm256_loadu_ps(xb), x1 = _mm256_loadu_ps(xb + 8), x2 = _mm256_loadu_ps(xb + 16),
                     x3 = _mm256_loadu_ps(xb + 24);
#pragma GCC unroll 8
        for (int k = 0; k < R; ++k) {
            const uint8_t *block = w + (r + k) * rowBytes + b * kStride<T>;
            __builtin_prefetch(block + R * rowBytes);
            __m256 v[4];
            block8<T>(block, v);
            __m256 s = _mm256_mul_ps(v[0], x0);
            s = _mm256_fmadd_ps(v[1], x1, s);
            s = _mm256_fmadd_ps(v[2], x2, s);
            s = _mm256_fmadd_ps(v[3], x3, s);
            acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(scaleOf(block)), s, acc[k]);
        }
    }
#pragma GCC unroll 8
    for (int k = 0; k < R; ++k)
        y[r + k] = hsum8(acc[k]) + (bias ? bias[r + k] : 0.0f);
}

template <QuantType T>
SURFING_AVX2 void matvecAvx2T(const uint8_t *w, int64_t cols, const float *x, float *y, const float *bias,
                              int64_t rowBegin, int64_t rowEnd)
{
    const int64_t blocks = cols / kBlock;
    int64_t r = rowBegin;
    for (; r + 4 <= rowEnd; r += 4)
        rowsAvx2<T, 4>(w, blocks, x, y, bias, r);
    for (; r < rowEnd; ++r)
        rowsAvx2<T, 1>(w, blocks, x, y, bias, r);
}

template <QuantType T>
SURFING_AVX2 void dequantizeAvx2T(const uint8_t *w, int64_t cols, int64_t rowBegin, int64_t rowEnd, float *dst)
{
    const int64_t blocks = cols / kBlock;
    const uint8_t *block = w + rowBegin * blocks * kStride<T>;
    const int64_t total = (rowEnd - rowBegin) * blocks;
    for (int64_t b = 0; b < total; ++b, block += kStride<T>) {
        __m256 v[4];
        block8<T>(block, v);
        const __m256 d = _mm256_set1_ps(scaleOf(block));
#pragma GCC unroll 4
        for (int i = 0; i < 4; ++i)
            _mm256_storeu_ps(dst + b * kBlock + 8 * i, _mm256_mul_ps(d, v[i]));
    }
}

// ---- AVX-512: a block is 2 vectors of 16 ----

template <QuantType T>
SURFING_AVX512 inline void block16(const uint8_t *block, __m512 &v0, __m512 &v1)
{
    __m128i lo, hi;
    blockBytes16<T>(block, lo, hi);
    v0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(lo));
    v1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(hi));
}

template <QuantType T, int R>
SURFING_AVX512 void rowsAvx512(const uint8_t *w, int64_t blocks, const float *x, float *y, const float *bias,
                               int64_t r)
{
    const int64_t rowBytes = blocks * kStride<T>;
    __m512 acc[R];
#pragma GCC unroll 8
    for (int k = 0; k < R; ++k)
        acc[k] = _mm512_setzero_ps();
    for (int64_t b = 0; b < blocks; ++b) {
        const __m512 x0 = _mm512_loadu_ps(x + b * kBlock), x1 = _mm512_loadu_ps(x + b * kBlock + 16);
#pragma GCC unroll 8
        for (int k = 0; k < R; ++k) {
            const uint8_t *block = w + (r + k) * rowBytes + b * kStride<T>;
            __builtin_prefetch(block + R * rowBytes);
            __m512 v0, v1;
            block16<T>(block, v0, v1);
            const __m512 s = _mm512_fmadd_ps(v1, x1, _mm512_mul_ps(v0, x0));
            acc[k] = _mm512_fmadd_ps(_mm512_set1_ps(scaleOf(block)), s, acc[k]);
        }
    }
#pragma GCC unroll 8
    for (int k = 0; k < R; ++k)
        y[r + k] = _mm512_reduce_add_ps(acc[k]) + (bias ? bias[r + k] : 0.0f);
}

template <QuantType T>
SURFING_AVX512 void matvecAvx512T(const uint8_t *w, int64_t cols, const float *x, float *y, const float *bias,
                                  int64_t rowBegin, int64_t rowEnd)
{
    const int64_t blocks = cols / kBlock;
    int64_t r = rowBegin;
    for (; r + 4 <= rowEnd; r += 4)
        rowsAvx512<T, 4>(w, blocks, x, y, bias, r);
    for (; r < rowEnd; ++r)
        rowsAvx512<T, 1>(w, blocks, x, y, bias, r);
}

template <QuantType T>
SURFING_AVX512 void dequantizeAvx512T(const uint8_t *w, int64_t cols, int64_t rowBegin, int64_t rowEnd, float *dst)
{
    const int64_t blocks = cols / kBlock;
    const uint8_t *block = w + rowBegin * blocks * kStride<T>;
    const int64_t total = (rowEnd - rowBegin) * blocks;
    for (int64_t b = 0; b < total; ++b, block += kStride<T>) {
        __m512 v0, v1;
        block16<T>(block, v0, v1);
        const __m512 d = _mm512_set1_ps(scaleOf(block));
        _mm512_storeu_ps(dst + b * kBlock, _mm512_mul_ps(d, v0));
        _mm512_storeu_ps(dst + b * kBlock + 16, _mm512_mul_ps(d, v1));
    }
}

} // namespace

#define SURFING_QUANT_DISPATCH(fn, ...)                                   \
    switch (type) {                                                       \
    case QuantType::Q8_0: return fn<QuantType::Q8_0>(__VA_ARGS__);        \
    case QuantType::Q4_0: return fn<QuantType::Q4_0>(__VA_ARGS__);        \
    }

void quantMatvecAvx2(QuantType type, const uint8_t *w, int64_t cols, const float *x, float *y, const float *bias,
                     int64_t rowBegin, int64_t rowEnd)
{
    SURFING_QUANT_DISPATCH(matvecAvx2T, w, cols, x, y, bias, rowBegin, rowEnd)
}

void quantDequantizeAvx2(QuantType type, const uint8_t *w, int64_t cols, int64_t rowBegin, int64_t rowEnd, float *dst)
{
    SURFING_QUANT_DISPATCH(dequantizeAvx2T, w, cols, rowBegin, rowEnd, dst)
}

void quantMatvecAvx512(QuantType type, const uint8_t *w, int64_t cols, const float *x, float *y, const float *bias,
                       int64_t rowBegin, int64_t rowEnd)
{
    SURFING_QUANT_DISPATCH(matvecAvx512T, w, cols, x, y, bias, rowBegin, rowEnd)
}

void quantDequantizeAvx512(QuantType type, const uint8_t *w, int64_t cols, int64_t rowBegin, int64_t rowEnd,
                           float *dst)
{
    SURFING_QUANT_DISPATCH(dequantizeAvx512T, w, cols, rowBegin, rowEnd, dst)
}

} // namespace surfing::kernels::detail

#endif // SURFING_KERNELS_X86
