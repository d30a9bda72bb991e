// The per-instruction-set kernels behind quantmatvec.h; only quantmatvec.cpp calls them, and only
// on a CPU that has the instructions.
#pragma once

#include "inference/matvec_internal.h"
#include "inference/quantmatvec.h"

namespace surfing::kernels::detail {

#if SURFING_KERNELS_X86
void quantMatvecAvx2(quant::QuantType type, const uint8_t *w, int64_t cols, const float *x, float *y,
                     const float *bias, int64_t rowBegin, int64_t rowEnd);
void quantDequantizeAvx2(quant::QuantType type, const uint8_t *w, int64_t cols, int64_t rowBegin, int64_t rowEnd,
                         float *dst);
void quantMatvecAvx512(quant::QuantType type, const uint8_t *w, int64_t cols, const float *x, float *y,
                       const float *bias, int64_t rowBegin, int64_t rowEnd);
void quantDequantizeAvx512(quant::QuantType type, const uint8_t *w, int64_t cols, int64_t rowBegin, int64_t rowEnd,
                           float *dst);
#endif

} // namespace surfing::kernels::detail
