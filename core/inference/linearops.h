// Linear layers and embedding lookups on weights kept in their stored dtype (f32, f16, bf16, and
// Q8_0 / Q4_0 blocks, which quantops.h handles).
// Internal to core/inference (includes libtorch). Activations are float32 throughout.
//
// One input row (a single-token step): the matvec kernels (matvec.h) read each weight once from
// where it lies. Several rows (a prompt): f32 weights go to at::linear as they are; f16/bf16
// weights are widened block by block into a 4 MiB reused scratch buffer, each block multiplied
// by BLAS GEMM right away, so no f32 copy of a whole matrix ever exists.
#pragma once

#include "inference/unitweights.h"

#include <ATen/ATen.h>

namespace surfing::ops {

// y = x W^T + b (torch.nn.Linear layout W [out, in]); `bias` (float32) may be undefined.
at::Tensor affine(const at::Tensor &x, const at::Tensor &weight, const at::Tensor &bias = {});
// y = x W + b with W [in, out] (GPT-2's Conv1D layout).
at::Tensor affineInOut(const at::Tensor &x, const at::Tensor &weight, const at::Tensor &bias = {});
// Rows `ids` of an embedding table in any stored dtype, as float32: only those rows are widened.
at::Tensor embedding(const at::Tensor &table, const at::Tensor &ids);

// y = x W^T + b for one input row and a matrix still arriving: each run of rows is multiplied as
// soon as it is verified, while it is still in this core's cache. Undefined when x is not one
// float32 row of w.cols features (or the bias does not fit): then wait for the whole matrix.
at::Tensor affineArriving(const at::Tensor &x, const UnitWeights::ArrivingRows &w, const at::Tensor &bias);

// The multi-row f16/bf16 path of affine(), with the scratch size in floats (benchmarks).
at::Tensor affineWidened(const at::Tensor &x, const at::Tensor &weight, const at::Tensor &bias,
                         int64_t scratchFloats);
// The single-row path of affine() for a float32 x with one row.
at::Tensor affineOneRow(const at::Tensor &x, const at::Tensor &weight, const at::Tensor &bias);

} // namespace surfing::ops
