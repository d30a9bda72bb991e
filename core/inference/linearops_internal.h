// Pieces linearops.cpp and quantops.cpp share. Internal to core/inference (libtorch).
#pragma once

#include <ATen/ATen.h>
#include <vector>

namespace surfing::ops::detail {

// The bias as contiguous float32, or undefined when there is none.
at::Tensor floatBias(const at::Tensor &bias);
// x's sizes with the last one replaced by `features`.
std::vector<int64_t> outputSizes(const at::Tensor &x, int64_t features);
// The scratch block f16/bf16 and quantized weights are widened into: one per thread, shared by
// every kind of weight and reused by every call.
at::Tensor scratch(int64_t floats);

} // namespace surfing::ops::detail
