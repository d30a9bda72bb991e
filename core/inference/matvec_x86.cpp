// AVX2+FMA+F16C and AVX-512 (F, BW, VL) kernels. Each function carries its own target attribute,
// so the file compiles for baseline x86-64 and nothing here runs unless matvec.cpp saw the CPU
// has the instructions. Weights are converted to f32 in registers (f16: vcvtph2ps; bf16: a 16-bit
// shift, exact) and multiplied with f32 FMAs: the activations stay f32 (AVX512-BF16's dot product
// would round them to bf16), and the products are bound by memory bandwidth, not by arithmetic.
#include "inference/matvec_internal.h"

#if SURFING_KERNELS_X86

#include "inference/x86targets.h"

namespace surfing::kernels::detail {
namespace {

template <WeightType T>
float load1(const void *base, int64_t i)
{
    if constexpr (T == WeightType::F32)
        return static_cast<const float *>(base)[i];
    else if constexpr (T == WeightType::F16)
        return halfToFloat(static_cast<const uint16_t *>(base)[i]);
    else
        return bf16ToFloat(static_cast<const uint16_t *>(base)[i]);
}

// Asks for the weights one row block ahead (the same columns of rows r + R ...): with 4 rows
// streamed at once the hardware prefetcher alone leaves the loads waiting on memory (measured
// 5-19 % faster on a 131 MB LM head, 3-8 % on an 11 MB layer). A prefetch past the end of the
// matrix is harmless: prefetches never fault.
template <WeightType T>
inline void prefetchAhead(const void *base, int64_t i)
{
    if constexpr (T == WeightType::F32) {
        const char *p = reinterpret_cast<const char *>(static_cast<const float *>(base) + i);
        __builtin_prefetch(p);
        __builtin_prefetch(p + 64);
    } else {
        __builtin_prefetch(static_cast<const uint16_t *>(base) + i);
    }
}

// ---- AVX2: 8 floats per vector ----

template <WeightType T>
SURFING_AVX2 inline __m256 load8(const void *base, int64_t i)
{
    if constexpr (T == WeightType::F32) {
        return _mm256_loadu_ps(static_cast<const float *>(base) + i);
    } else {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i *>(static_cast<const uint16_t *>(base) + i));
        if constexpr (T == WeightType::F16)
            return _mm256_cvtph_ps(h);
        else
            return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
}

SURFING_AVX2 inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// R rows of W at once: each x vector is loaded once for R rows; two accumulators per row.
template <WeightType T, int R>
SURFING_AVX2 void rowsAvx2(const void *w, int64_t cols, const float *x, float *y, const float *bias, int64_t r)
{
    __m256 acc[R][2];
#pragma GCC unroll 8
    for (int k = 0; k < R; ++k)
        acc[k][0] = acc[k][1] = _mm256_setzero_ps();
    int64_t c = 0;
    for (; c + 16 <= cols; c += 16) {
        const __m256 x0 = _mm256_loadu_ps(x + c), x1 = _mm256_loadu_ps(x + c + 8);
#pragma GCC unroll 8
        for (int k = 0; k < R; ++k) {
            const int64_t at = (r + k) * cols + c;
            if constexpr (T == WeightType::F32)
                __builtin_prefetch(static_cast<const float *>(w) + at + R * cols);
            else if (c % 32 == 0)
                __builtin_prefetch(static_cast<const uint16_t *>(w) + at + R * cols);
            acc[k][0] = _mm256_fmadd_ps(load8<T>(w, at), x0, acc[k][0]);
            acc[k][1] = _mm256_fmadd_ps(load8<T>(w, at + 8), x1, acc[k][1]);
        }
    }
    if (c + 8 <= cols) {
        const __m256 x0 = _mm256_loadu_ps(x + c);
#pragma GCC unroll 8
        for (int k = 0; k < R; ++k)
            acc[k][0] = _mm256_fmadd_ps(load8<T>(w, (r + k) * cols + c), x0, acc[k][0]);
        c += 8;
    }
#pragma GCC unroll 8
    for (int k = 0; k < R; ++k) {
        float s = hsum8(_mm256_add_ps(acc[k][0], acc[k][1]));
        for (int64_t t = c; t < cols; ++t)
            s += load1<T>(w, (r + k) * cols + t) * x[t];
        y[r + k] = s + (bias ? bias[r + k] : 0.0f);
    }
}

template <WeightType T>
SURFING_AVX2 void matvecAvx2T(const void *w, int64_t cols, const float *x, float *y, const float *bias,
                              int64_t rowBegin, int64_t rowEnd)
{
    int64_t r = rowBegin;
    for (; r + 4 <= rowEnd; r += 4)
        rowsAvx2<T, 4>(w, cols, x, y, bias, r);
    for (; r < rowEnd; ++r)
        rowsAvx2<T, 1>(w, cols, x, y, bias, r);
}

// V vectors (8V output columns) accumulated down all `in` rows of W [in, out].
template <WeightType T, int V>
SURFING_AVX2 void colsAvx2(const void *w, int64_t in, int64_t out, const float *x, float *y, const float *bias,
                           int64_t o)
{
    __m256 acc[V];
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v)
        acc[v] = _mm256_setzero_ps();
    for (int64_t i = 0; i < in; ++i) {
        const __m256 xi = _mm256_set1_ps(x[i]);
#pragma GCC unroll 8
        for (int v = 0; v < V; ++v)
            acc[v] = _mm256_fmadd_ps(load8<T>(w, i * out + o + 8 * v), xi, acc[v]);
    }
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) {
        if (bias)
            acc[v] = _mm256_add_ps(acc[v], _mm256_loadu_ps(bias + o + 8 * v));
        _mm256_storeu_ps(y + o + 8 * v, acc[v]);
    }
}

template <WeightType T>
SURFING_AVX2 void vecmatAvx2T(const void *w, int64_t in, int64_t out, const float *x, float *y, const float *bias,
                              int64_t colBegin, int64_t colEnd)
{
    int64_t o = colBegin;
    for (; o + 32 <= colEnd; o += 32)
        colsAvx2<T, 4>(w, in, out, x, y, bias, o);
    for (; o + 8 <= colEnd; o += 8)
        colsAvx2<T, 1>(w, in, out, x, y, bias, o);
    for (; o < colEnd; ++o) {
        float s = 0.0f;
        for (int64_t i = 0; i < in; ++i)
            s += x[i] * load1<T>(w, i * out + o);
        y[o] = s + (bias ? bias[o] : 0.0f);
    }
}

template <WeightType T>
SURFING_AVX2 void widenAvx2T(const void *src, float *dst, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, load8<T>(src, i));
    for (; i < n; ++i)
        dst[i] = load1<T>(src, i);
}

// ---- AVX-512: 16 floats per vector, masked tails ----

template <WeightType T>
SURFING_AVX512 inline __m512 load16(const void *base, int64_t i)
{
    if constexpr (T == WeightType::F32) {
        return _mm512_loadu_ps(static_cast<const float *>(base) + i);
    } else {
        const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(static_cast<const uint16_t *>(base) + i));
        if constexpr (T == WeightType::F16)
            return _mm512_cvtph_ps(h);
        else
            return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
}

// The first `n` (< 16) values at base + i; the others are zero and no byte past them is read.
template <WeightType T>
SURFING_AVX512 inline __m512 load16Masked(const void *base, int64_t i, __mmask16 m)
{
    if constexpr (T == WeightType::F32) {
        return _mm512_maskz_loadu_ps(m, static_cast<const float *>(base) + i);
    } else {
        const __m256i h = _mm256_maskz_loadu_epi16(m, static_cast<const uint16_t *>(base) + i);
        if constexpr (T == WeightType::F16)
            return _mm512_cvtph_ps(h);
        else
            return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
}

SURFING_AVX512 inline __mmask16 tailMask(int64_t n)
{
    return __mmask16((1u << n) - 1u);
}

template <WeightType T, int R>
SURFING_AVX512 void rowsAvx512(const void *w, int64_t cols, const float *x, float *y, const float *bias, int64_t r)
{
    __m512 acc[R][2];
#pragma GCC unroll 8
    for (int k = 0; k < R; ++k)
        acc[k][0] = acc[k][1] = _mm512_setzero_ps();
    int64_t c = 0;
    for (; c + 32 <= cols; c += 32) {
        const __m512 x0 = _mm512_loadu_ps(x + c), x1 = _mm512_loadu_ps(x + c + 16);
#pragma GCC unroll 8
        for (int k = 0; k < R; ++k) {
            const int64_t at = (r + k) * cols + c;
            prefetchAhead<T>(w, at + R * cols);
            acc[k][0] = _mm512_fmadd_ps(load16<T>(w, at), x0, acc[k][0]);
            acc[k][1] = _mm512_fmadd_ps(load16<T>(w, at + 16), x1, acc[k][1]);
        }
    }
    for (; c < cols; c += 16) {
        const __mmask16 m = cols - c >= 16 ? __mmask16(0xffff) : tailMask(cols - c);
        const __m512 x0 = _mm512_maskz_loadu_ps(m, x + c);
#pragma GCC unroll 8
        for (int k = 0; k < R; ++k)
            acc[k][0] = _mm512_fmadd_ps(load16Masked<T>(w, (r + k) * cols + c, m), x0, acc[k][0]);
    }
#pragma GCC unroll 8
    for (int k = 0; k < R; ++k)
        y[r + k] = _mm512_reduce_add_ps(_mm512_add_ps(acc[k][0], acc[k][1])) + (bias ? bias[r + k] : 0.0f);
}

template <WeightType T>
SURFING_AVX512 void matvecAvx512T(const void *w, int64_t cols, const float *x, float *y, const float *bias,
                                  int64_t rowBegin, int64_t rowEnd)
{
    int64_t r = rowBegin;
    for (; r + 4 <= rowEnd; r += 4)
        rowsAvx512<T, 4>(w, cols, x, y, bias, r);
    for (; r < rowEnd; ++r)
        rowsAvx512<T, 1>(w, cols, x, y, bias, r);
}

template <WeightType T, int V>
SURFING_AVX512 void colsAvx512(const void *w, int64_t in, int64_t out, const float *x, float *y, const float *bias,
                               int64_t o, __mmask16 last)
{
    __m512 acc[V];
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v)
        acc[v] = _mm512_setzero_ps();
    for (int64_t i = 0; i < in; ++i) {
        const __m512 xi = _mm512_set1_ps(x[i]);
#pragma GCC unroll 8
        for (int v = 0; v < V; ++v) {
            const __mmask16 m = v == V - 1 ? last : __mmask16(0xffff);
            acc[v] = _mm512_fmadd_ps(load16Masked<T>(w, i * out + o + 16 * v, m), xi, acc[v]);
        }
    }
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) {
        const __mmask16 m = v == V - 1 ? last : __mmask16(0xffff);
        if (bias)
            acc[v] = _mm512_add_ps(acc[v], _mm512_maskz_loadu_ps(m, bias + o + 16 * v));
        _mm512_mask_storeu_ps(y + o + 16 * v, m, acc[v]);
    }
}

template <WeightType T>
SURFING_AVX512 void vecmatAvx512T(const void *w, int64_t in, int64_t out, const float *x, float *y,
                                  const float *bias, int64_t colBegin, int64_t colEnd)
{
    int64_t o = colBegin;
    for (; o + 64 <= colEnd; o += 64)
        colsAvx512<T, 4>(w, in, out, x, y, bias, o, 0xffff);
    for (; o < colEnd; o += 16)
        colsAvx512<T, 1>(w, in, out, x, y, bias, o, colEnd - o >= 16 ? __mmask16(0xffff) : tailMask(colEnd - o));
}

template <WeightType T>
SURFING_AVX512 void widenAvx512T(const void *src, float *dst, int64_t n)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(dst + i, load16<T>(src, i));
    if (i < n) {
        const __mmask16 m = tailMask(n - i);
        _mm512_mask_storeu_ps(dst + i, m, load16Masked<T>(src, i, m));
    }
}

} // namespace

#define SURFING_DISPATCH(fn, ...)                                                  \
    switch (type) {                                                                \
    case WeightType::F32: return fn<WeightType::F32>(__VA_ARGS__);                 \
    case WeightType::F16: return fn<WeightType::F16>(__VA_ARGS__);                 \
    case WeightType::BF16: return fn<WeightType::BF16>(__VA_ARGS__);               \
    }

void matvecAvx2(WeightType type, const void *w, int64_t cols, const float *x, float *y, const float *bias,
                int64_t rowBegin, int64_t rowEnd)
{
    SURFING_DISPATCH(matvecAvx2T, w, cols, x, y, bias, rowBegin, rowEnd)
}

void vecmatAvx2(WeightType type, const void *w, int64_t out, const float *x, float *y, const float *bias,
                int64_t in, int64_t colBegin, int64_t colEnd)
{
    SURFING_DISPATCH(vecmatAvx2T, w, in, out, x, y, bias, colBegin, colEnd)
}

void widenAvx2(WeightType type, const void *src, float *dst, int64_t n)
{
    SURFING_DISPATCH(widenAvx2T, src, dst, n)
}

void matvecAvx512(WeightType type, const void *w, int64_t cols, const float *x, float *y, const float *bias,
                  int64_t rowBegin, int64_t rowEnd)
{
    SURFING_DISPATCH(matvecAvx512T, w, cols, x, y, bias, rowBegin, rowEnd)
}

void vecmatAvx512(WeightType type, const void *w, int64_t out, const float *x, float *y, const float *bias,
                  int64_t in, int64_t colBegin, int64_t colEnd)
{
    SURFING_DISPATCH(vecmatAvx512T, w, in, out, x, y, bias, colBegin, colEnd)
}

void widenAvx512(WeightType type, const void *src, float *dst, int64_t n)
{
    SURFING_DISPATCH(widenAvx512T, src, dst, n)
}

} // namespace surfing::kernels::detail

#endif // SURFING_KERNELS_X86
