// LLaMA family (RMSNorm, rotary positions with rope_theta, SwiGLU, grouped-query attention, tied
// or untied LM head), streamed unit by unit: embed_tokens, layer_0..N-1, norm, lm_head (untied).
#pragma once

#include "inference/decodermodel.h"

namespace surfing {

class UnitWeights;

class LlamaModel : public DecoderModel
{
public:
    explicit LlamaModel(const ModelConfig &config);

    int numLayers() const override { return m_layers; }
    int64_t vocabSize() const override { return m_vocab; }
    QStringList unitOrder() const override;
    DecoderOutput forward(WeightStream &stream, const DecoderInput &input, KVCache *cache,
                          const ForwardOptions &options) override;

private:
    at::Tensor layer(const UnitWeights &w, const at::Tensor &x, const at::Tensor &cos, const at::Tensor &sin,
                     const at::Tensor &allowed, KVCache *cache, int index) const;

    int m_layers = 0;
    int m_heads = 0;
    int m_kvHeads = 0;
    int m_headDim = 0;
    int64_t m_vocab = 0;
    double m_eps = 1e-6;
    double m_ropeTheta = 10000.0;
    bool m_tied = false;
    bool m_bias = false; // attention_bias (Qwen2-style q/k/v biases)
    QString m_activation;
};

} // namespace surfing
