// Rotary position embeddings of the LLaMA family as Hugging Face computes them
// (modeling_rope_utils.py): inv_freq in float32 from rope_theta and head_dim, optionally rescaled
// by config.json's rope_scaling. Internal to core/inference (libtorch).
#pragma once

#include <ATen/ATen.h>
#include <QJsonObject>

namespace surfing {

// inv_freq [headDim / 2] float32. Supports no rope_scaling, rope_type "default" and "llama3";
// any other rope_type throws surfing::Error naming it.
at::Tensor ropeInverseFrequencies(const QJsonObject &config, int headDim);

// cos and sin [B, 1, T, headDim] for `positions` [B, T] (HF's rotate_half layout: the
// frequencies repeated for both halves).
std::pair<at::Tensor, at::Tensor> ropeCosSin(const at::Tensor &invFreq, const at::Tensor &positions);

} // namespace surfing
