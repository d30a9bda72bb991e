// Matrix-vector products for single-token steps, on weights as they are stored (f32, f16, bf16),
// read once from where they lie, accumulated in float32. Plain pointers and sizes, no libtorch.
//
// The SIMD paths are chosen at run time (CPUID): AVX-512F, AVX2+FMA+F16C, or the portable C++
// loops every x86-64 (and any other) CPU runs. SURFING_KERNELS=portable|avx2|avx512|auto forces
// a path; a path the CPU lacks is never taken (the best supported one below it is used instead).
#pragma once

#include <cstdint>

namespace surfing::kernels {

enum class WeightType { F32, F16, BF16 };
enum class Path { Portable, Avx2, Avx512 };

const char *pathName(Path path);
// The fastest path this CPU can run.
Path bestSupportedPath();
bool isSupported(Path path);
// The path the products use: SURFING_KERNELS (read once) or bestSupportedPath().
Path activePath();
// Parses a SURFING_KERNELS value ("auto" or empty = best) and clamps it to what the CPU supports.
// Returns false (and leaves `path` alone) for an unknown name.
bool parsePath(const char *name, Path &path);

// Row-major weights W [rows, cols] (torch.nn.Linear's [out, in]):
//   y[r] = sum_c W[r][c] * x[c]  (+ bias[r] when bias is not null)   for r in [rowBegin, rowEnd).
// y and bias are indexed by the absolute row r.
void matvec(WeightType type, const void *w, int64_t rows, int64_t cols, const float *x, float *y,
            const float *bias, int64_t rowBegin, int64_t rowEnd, Path path = activePath());

// Row-major weights W [in, out] (GPT-2's Conv1D):
//   y[o] = sum_i x[i] * W[i][o]  (+ bias[o])   for o in [colBegin, colEnd).
void vecmat(WeightType type, const void *w, int64_t in, int64_t out, const float *x, float *y,
            const float *bias, int64_t colBegin, int64_t colEnd, Path path = activePath());

// dst[i] = float(src[i]) for n values of `type` (exact for every f16/bf16 value).
void widen(WeightType type, const void *src, float *dst, int64_t n, Path path = activePath());

// Portable f16/bf16 -> f32 of one value (IEEE binary16, incl. subnormals, inf and NaN).
float halfToFloat(uint16_t bits);
float bf16ToFloat(uint16_t bits);

} // namespace surfing::kernels
