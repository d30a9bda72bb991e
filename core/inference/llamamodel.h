// LLaMA family (RMSNorm, rotary positions with rope_theta and optional llama3 rope scaling,
// SwiGLU, grouped-query attention, tied or untied LM head), streamed unit by unit: embed_tokens,
// layer_0..N-1, norm, lm_head (untied). Variants: Mistral; Qwen2 (q/k/v biases, found in the
// chunk); Qwen3 (per-head q/k RMSNorm, explicit head_dim); Qwen3-MoE (each layer's MLP a
// mixture of experts, every expert its own unit layer_N_expert_E; see moeblock.h).
#pragma once

#include "inference/decodermodel.h"
#include "inference/moeblock.h"

namespace surfing {

class UnitWeights;

class LlamaModel : public DecoderModel
{
public:
    explicit LlamaModel(const ModelConfig &config);

    int numLayers() const override { return m_layers; }
    int64_t vocabSize() const override { return m_vocab; }
    // With experts: each layer followed by the experts the previous step used there (a guess
    // that forward() corrects once the router has run).
    QStringList unitOrder() const override;
    DecoderOutput forward(WeightStream &stream, const DecoderInput &input, KVCache *cache,
                          const ForwardOptions &options) override;

private:
    // The attention half of a layer: x + attention(input_layernorm(x)).
    at::Tensor attention(const UnitWeights &w, const at::Tensor &x, const at::Tensor &cos, const at::Tensor &sin,
                         const at::Tensor &allowed, KVCache *cache, int index) const;
    at::Tensor denseMlp(const UnitWeights &w, const at::Tensor &x) const;
    at::Tensor layer(WeightStream &stream, const at::Tensor &x, const at::Tensor &cos, const at::Tensor &sin,
                     const at::Tensor &allowed, KVCache *cache, int index);

    int m_layers = 0;
    int m_heads = 0;
    int m_kvHeads = 0;
    int m_headDim = 0;
    int64_t m_vocab = 0;
    double m_eps = 1e-6;
    bool m_tied = false;
    QString m_activation;
    at::Tensor m_invFreq; // rotary inverse frequencies, scaling applied
    MoeBlock m_moe;
};

} // namespace surfing
