// Linear layers and embedding lookups on Q8_0 / Q4_0 matrices (format/quant.h), as UnitWeights
// holds them: a uint8 tensor [rows, cols / 32, block bytes] (34 for Q8_0, 18 for Q4_0) over the
// chunk's bytes. Internal to core/inference (includes libtorch); linearops.cpp routes to it.
//
// One input row: quantMatvec reads each block once where it lies. Several rows (a prompt): row
// blocks of W are widened into a 4 MiB per-thread scratch buffer and multiplied by BLAS GEMM right
// away, as linearops does for f16/bf16, so no float copy of a whole matrix exists.
#pragma once

#include "format/quant.h"

#include <ATen/ATen.h>
#include <optional>

namespace surfing::ops {

// The block type of a tensor in the layout above, or nullopt for any other tensor.
std::optional<quant::QuantType> quantTypeOf(const at::Tensor &t);
// The uint8 [rows, cols / 32, block bytes] view of `rows` x `cols` quantized values at `data`;
// `owner` keeps the bytes alive.
at::Tensor quantizedMatrix(void *data, quant::QuantType type, int64_t rows, int64_t cols, std::shared_ptr<const void> owner);
// y = x W^T + b for a quantized W [out, in].
at::Tensor affineQuantized(const at::Tensor &x, const at::Tensor &weight, const at::Tensor &bias,
                           int64_t scratchFloats = int64_t(1) << 20);
// Rows `ids` of a quantized table, as float32 [..., cols]; ids outside the table are an error.
at::Tensor embeddingQuantized(const at::Tensor &table, const at::Tensor &ids);
// The whole matrix as float32 [rows, cols] (small tensors that a model reads with UnitWeights::get()).
at::Tensor dequantized(const at::Tensor &weight);

} // namespace surfing::ops
