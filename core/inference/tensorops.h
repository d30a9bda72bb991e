// The arithmetic the decoder and encoder models share, as free functions over at::Tensor.
// Internal to core/inference (includes libtorch).
#pragma once

#include "inference/linearops.h"

#include <ATen/ATen.h>
#include <QJsonObject>
#include <QString>
#include <optional>

namespace surfing {
class UnitWeights;
}

namespace surfing::ops {

// config.json values, with errors naming the field ("config.json: num_attention_heads ...").
int configInt(const QJsonObject &config, const QString &key, std::optional<int> fallback = std::nullopt);
double configDouble(const QJsonObject &config, const QString &key, std::optional<double> fallback = std::nullopt);

// affine() with NAME.weight of a unit, and NAME.bias when the unit has one (q/k/v of Qwen2,
// mlp_bias of some LLaMAs): a bias that is there is never ignored.
at::Tensor linear(const UnitWeights &w, const QString &name, const at::Tensor &x);

at::Tensor layerNorm(const at::Tensor &x, const at::Tensor &weight, const at::Tensor &bias, double eps);
// x * rsqrt(mean(x^2) + eps) * weight, as LLaMA's RMSNorm.
at::Tensor rmsNorm(const at::Tensor &x, const at::Tensor &weight, double eps);
// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): GPT-2's "gelu_new".
at::Tensor geluTanh(const at::Tensor &x);
// Exact erf GELU (BERT's "gelu").
at::Tensor geluErf(const at::Tensor &x);
// Applies a config.json activation name (gelu, gelu_new, relu, silu, ...).
at::Tensor activation(const QString &name, const at::Tensor &x);
// The same values written over `x` where libtorch has the in-place kernel (the same kernel as
// activation() runs, so the same bits), so that a wide MLP intermediate is not held twice.
// Returns x, or a new tensor for activations without one. `x` must not be a view of anything
// still needed.
at::Tensor activationInPlace(const QString &name, at::Tensor x);

// [B, T, H*D] -> [B, H, T, D] and back.
at::Tensor splitHeads(const at::Tensor &x, int64_t heads);
at::Tensor mergeHeads(const at::Tensor &x);

// Rotary position embedding in HF's rotate_half layout: x * cos + rotate_half(x) * sin, with
// x [B, H, T, D] and cos, sin [B, 1, T, D].
at::Tensor rotary(const at::Tensor &x, const at::Tensor &cos, const at::Tensor &sin);

// Scaled dot-product attention. q [B, H, Tq, D]; k, v [B, Hkv, Tk, D] with H a multiple of Hkv
// (query head h reads kv head h / (H / Hkv)); `allowed` bool, broadcastable to [B, H, Tq, Tk],
// true where a query may attend a key, or undefined for full attention.
at::Tensor attend(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, const at::Tensor &allowed);

// Which keys each query may see in a causal decoder: `keyMask` [B, past + Tq] (true = real token,
// false = padding) and the causal rule key <= past + query. Result [B, 1, Tq, past + Tq], or
// undefined when every key is allowed (one query over unpadded keys).
at::Tensor causalMask(const at::Tensor &keyMask, int64_t queryLength);

} // namespace surfing::ops
