#include "inference/matvec.h"

#include "inference/matvec_internal.h"

#include <QLoggingCategory>
#include <cstdlib>
#include <cstring>
#include <memory>

Q_LOGGING_CATEGORY(lcKernels, "surfing.kernels")

namespace surfing::kernels {

namespace {

inline float widenHalf(uint16_t h)
{
    // The magnitude bits moved into float position are the value times 2^-112 (subnormals too):
    // one exact multiplication rescales them; exponent 31 (inf, NaN) maps to 255.
    const uint32_t shifted = uint32_t(h & 0x7fffu) << 13;
    float f;
    std::memcpy(&f, &shifted, sizeof f);
    f *= 0x1p112f;
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    if ((h & 0x7c00u) == 0x7c00u)
        bits = 0x7f800000u | shifted;
    bits |= uint32_t(h & 0x8000u) << 16;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

} // namespace

float halfToFloat(uint16_t h)
{
    return widenHalf(h);
}

float bf16ToFloat(uint16_t h)
{
    const uint32_t bits = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

namespace {

// Loaders turn element i of a stored row into a float. f16 goes through a 65536-entry table (built
// on first use): a lookup is a few instructions where the bit conversion is about twenty.
struct LoadF32 {
    using Stored = float;
    float at(const float *p, int64_t i) const { return p[i]; }
};
struct LoadF16 {
    using Stored = uint16_t;
    const float *table = halfTable();
    float at(const uint16_t *p, int64_t i) const { return table[p[i]]; }

    static const float *halfTable()
    {
        static const std::unique_ptr<float[]> table = [] {
            auto t = std::make_unique<float[]>(0x10000);
            for (uint32_t h = 0; h < 0x10000; ++h)
                t[h] = widenHalf(uint16_t(h));
            return t;
        }();
        return table.get();
    }
};
struct LoadBF16 {
    using Stored = uint16_t;
    float at(const uint16_t *p, int64_t i) const { return bf16ToFloat(p[i]); }
};

// Four partial sums per row so that the loop is not one long dependency chain.
template <typename Load>
void matvecPortable(const void *weights, int64_t cols, const float *x, float *y, const float *bias,
                    int64_t rowBegin, int64_t rowEnd)
{
    const auto *w = static_cast<const typename Load::Stored *>(weights);
    const Load load;
    for (int64_t r = rowBegin; r < rowEnd; ++r) {
        const auto *row = w + r * cols;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int64_t c = 0;
        for (; c + 4 <= cols; c += 4) {
            s0 += load.at(row, c) * x[c];
            s1 += load.at(row, c + 1) * x[c + 1];
            s2 += load.at(row, c + 2) * x[c + 2];
            s3 += load.at(row, c + 3) * x[c + 3];
        }
        for (; c < cols; ++c)
            s0 += load.at(row, c) * x[c];
        y[r] = (s0 + s1) + (s2 + s3) + (bias ? bias[r] : 0.0f);
    }
}

// Row by row of W [in, out]: each output column accumulates x[i] * W[i][o] in order of i.
template <typename Load>
void vecmatPortable(const void *weights, int64_t in, int64_t out, const float *x, float *y, const float *bias,
                    int64_t colBegin, int64_t colEnd)
{
    const auto *w = static_cast<const typename Load::Stored *>(weights);
    const Load load;
    for (int64_t o = colBegin; o < colEnd; ++o)
        y[o] = 0.0f;
    for (int64_t i = 0; i < in; ++i) {
        const auto *row = w + i * out;
        const float xi = x[i];
        for (int64_t o = colBegin; o < colEnd; ++o)
            y[o] += xi * load.at(row, o);
    }
    if (bias)
        for (int64_t o = colBegin; o < colEnd; ++o)
            y[o] += bias[o];
}

template <typename Load>
void widenPortable(const void *src, float *dst, int64_t n)
{
    const auto *s = static_cast<const typename Load::Stored *>(src);
    const Load load;
    for (int64_t i = 0; i < n; ++i)
        dst[i] = load.at(s, i);
}

Path fromEnvironment()
{
    Path path = bestSupportedPath();
    const char *name = std::getenv("SURFING_KERNELS");
    if (name && !parsePath(name, path))
        qCWarning(lcKernels, "SURFING_KERNELS=%s is not one of portable, avx2, avx512, auto: using %s", name,
                  pathName(path));
    qCDebug(lcKernels, "matvec kernels: %s (this CPU's best: %s%s%s)", pathName(path), pathName(bestSupportedPath()),
            name ? ", SURFING_KERNELS=" : "", name ? name : "");
    return path;
}

// A path the CPU lacks is never run, whoever asks for it.
Path usable(Path path)
{
    const Path best = bestSupportedPath();
    return int(path) <= int(best) ? path : best;
}

} // namespace

const char *pathName(Path path)
{
    switch (path) {
    case Path::Portable: return "portable";
    case Path::Avx2: return "avx2";
    case Path::Avx512: return "avx512";
    }
    return "portable";
}

bool isSupported(Path path)
{
#if SURFING_KERNELS_X86
    switch (path) {
    case Path::Portable: return true;
    case Path::Avx2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    case Path::Avx512:
        return isSupported(Path::Avx2) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
               && __builtin_cpu_supports("avx512vl");
    }
    return false;
#else
    return path == Path::Portable;
#endif
}

Path bestSupportedPath()
{
    static const Path best = isSupported(Path::Avx512) ? Path::Avx512
                             : isSupported(Path::Avx2) ? Path::Avx2
                                                       : Path::Portable;
    return best;
}

bool parsePath(const char *name, Path &path)
{
    const auto is = [name](const char *s) { return std::strcmp(name, s) == 0; };
    if (!name || is("") || is("auto"))
        path = bestSupportedPath();
    else if (is("portable"))
        path = Path::Portable;
    else if (is("avx2"))
        path = usable(Path::Avx2);
    else if (is("avx512"))
        path = usable(Path::Avx512);
    else
        return false;
    return true;
}

Path activePath()
{
    static const Path path = fromEnvironment();
    return path;
}

void matvec(WeightType type, const void *w, int64_t rows, int64_t cols, const float *x, float *y,
            const float *bias, int64_t rowBegin, int64_t rowEnd, Path path)
{
    (void)rows;
    switch (usable(path)) {
#if SURFING_KERNELS_X86
    case Path::Avx512: return detail::matvecAvx512(type, w, cols, x, y, bias, rowBegin, rowEnd);
    case Path::Avx2: return detail::matvecAvx2(type, w, cols, x, y, bias, rowBegin, rowEnd);
#endif
    default: break;
    }
    switch (type) {
    case WeightType::F32: return matvecPortable<LoadF32>(w, cols, x, y, bias, rowBegin, rowEnd);
    case WeightType::F16: return matvecPortable<LoadF16>(w, cols, x, y, bias, rowBegin, rowEnd);
    case WeightType::BF16: return matvecPortable<LoadBF16>(w, cols, x, y, bias, rowBegin, rowEnd);
    }
}

void vecmat(WeightType type, const void *w, int64_t in, int64_t out, const float *x, float *y,
            const float *bias, int64_t colBegin, int64_t colEnd, Path path)
{
    switch (usable(path)) {
#if SURFING_KERNELS_X86
    case Path::Avx512: return detail::vecmatAvx512(type, w, out, x, y, bias, in, colBegin, colEnd);
    case Path::Avx2: return detail::vecmatAvx2(type, w, out, x, y, bias, in, colBegin, colEnd);
#endif
    default: break;
    }
    switch (type) {
    case WeightType::F32: return vecmatPortable<LoadF32>(w, in, out, x, y, bias, colBegin, colEnd);
    case WeightType::F16: return vecmatPortable<LoadF16>(w, in, out, x, y, bias, colBegin, colEnd);
    case WeightType::BF16: return vecmatPortable<LoadBF16>(w, in, out, x, y, bias, colBegin, colEnd);
    }
}

void widen(WeightType type, const void *src, float *dst, int64_t n, Path path)
{
    switch (usable(path)) {
#if SURFING_KERNELS_X86
    case Path::Avx512: return detail::widenAvx512(type, src, dst, n);
    case Path::Avx2: return detail::widenAvx2(type, src, dst, n);
#endif
    default: break;
    }
    switch (type) {
    case WeightType::F32: std::memcpy(dst, src, size_t(n) * sizeof(float)); return;
    case WeightType::F16: return widenPortable<LoadF16>(src, dst, n);
    case WeightType::BF16: return widenPortable<LoadBF16>(src, dst, n);
    }
}

} // namespace surfing::kernels
