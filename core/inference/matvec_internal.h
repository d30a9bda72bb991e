// The per-instruction-set kernels behind matvec.h; only matvec.cpp calls them, and only on a CPU
// that has the instructions (each is compiled with a function-level target attribute).
#pragma once

#include "inference/matvec.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SURFING_KERNELS_X86 1
#else
#define SURFING_KERNELS_X86 0
#endif

namespace surfing::kernels::detail {

#if SURFING_KERNELS_X86
void matvecAvx2(WeightType type, const void *w, int64_t cols, const float *x, float *y, const float *bias,
                int64_t rowBegin, int64_t rowEnd);
void vecmatAvx2(WeightType type, const void *w, int64_t out, const float *x, float *y, const float *bias,
                int64_t in, int64_t colBegin, int64_t colEnd);
void widenAvx2(WeightType type, const void *src, float *dst, int64_t n);

void matvecAvx512(WeightType type, const void *w, int64_t cols, const float *x, float *y, const float *bias,
                  int64_t rowBegin, int64_t rowEnd);
void vecmatAvx512(WeightType type, const void *w, int64_t out, const float *x, float *y, const float *bias,
                  int64_t in, int64_t colBegin, int64_t colEnd);
void widenAvx512(WeightType type, const void *src, float *dst, int64_t n);
#endif

} // namespace surfing::kernels::detail
