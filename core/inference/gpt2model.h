// GPT-2 (learned positions, pre-LayerNorm blocks, Conv1D weights [in, out], LM head tied to wte),
// streamed unit by unit: wte, wpe, block_0..N-1, ln_f.
#pragma once

#include "inference/decodermodel.h"

namespace surfing {

class UnitWeights;

class Gpt2Model : public DecoderModel
{
public:
    explicit Gpt2Model(const ModelConfig &config);

    int numLayers() const override { return m_layers; }
    int64_t vocabSize() const override { return m_vocab; }
    QStringList unitOrder() const override;
    DecoderOutput forward(WeightStream &stream, const DecoderInput &input, KVCache *cache,
                          const ForwardOptions &options) override;

private:
    at::Tensor block(const UnitWeights &w, const at::Tensor &x, const at::Tensor &allowed,
                     KVCache *cache, int layer) const;

    int m_layers = 0;
    int m_heads = 0;
    int64_t m_vocab = 0;
    int m_positions = 0;
    double m_eps = 1e-5;
    QString m_activation;
};

} // namespace surfing
