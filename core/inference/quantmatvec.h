// Products straight from GGUF Q8_0 / Q4_0 blocks (format/quant.h), on the same run-time chosen
// paths as matvec.h (AVX-512, AVX2+FMA+F16C, portable; SURFING_KERNELS forces one, a path the CPU
// lacks is never taken). Plain pointers and sizes, no libtorch. A quantized [rows, cols] matrix is
// rows x (cols / 32) blocks, row after row; cols must be a multiple of 32.
#pragma once

#include "format/quant.h"
#include "inference/matvec.h"

#include <cstdint>

namespace surfing::kernels {

// Bytes of one row of `cols` values.
int64_t quantRowBytes(quant::QuantType type, int64_t cols);

// y[r] = sum_c W[r][c] * x[c] (+ bias[r])  for r in [rowBegin, rowEnd); each block's values are
// widened in registers, multiplied with float32 x and scaled once per block; nothing is widened in
// memory. y and bias are indexed by the absolute row.
void quantMatvec(quant::QuantType type, const uint8_t *w, int64_t cols, const float *x, float *y,
                 const float *bias, int64_t rowBegin, int64_t rowEnd, Path path = activePath());

// dst[(r - rowBegin) * cols + c] = W[r][c] for r in [rowBegin, rowEnd): rows widened into a
// caller's scratch block (prompt GEMMs, embedding lookups).
void quantDequantizeRows(quant::QuantType type, const uint8_t *w, int64_t cols, int64_t rowBegin,
                         int64_t rowEnd, float *dst, Path path = activePath());

} // namespace surfing::kernels
