// BERT encoder (embeddings with positions and token types, post-LayerNorm layers with an
// attention mask, pooler), streamed unit by unit: embeddings, layer_0..N-1, pooler.
#pragma once

#include "format/modelconfig.h"

#include <ATen/ATen.h>
#include <QStringList>
#include <vector>

namespace surfing {

class UnitWeights;
class WeightStream;

struct BertOutput {
    at::Tensor lastHidden;                // [B, T, hidden]
    at::Tensor pooled;                    // [B, hidden]; undefined without a pooler chunk
    std::vector<at::Tensor> hiddenStates; // embeddings + every layer's output (collectHidden)
};

class BertModel
{
public:
    explicit BertModel(const ModelConfig &config);

    int numLayers() const { return m_layers; }
    // Whether the chunk directory has a `pooler` unit (BertModel checkpoints without one exist).
    void setPooler(bool present) { m_pooler = present; }
    QStringList unitOrder() const;
    // ids, tokenTypes, attentionMask: [B, T] int64 (tokenTypes and mask may be undefined:
    // zeros / all ones).
    BertOutput forward(WeightStream &stream, const at::Tensor &ids, const at::Tensor &tokenTypes,
                       const at::Tensor &attentionMask, bool collectHidden = false) const;

private:
    at::Tensor layer(const UnitWeights &w, const at::Tensor &x, const at::Tensor &allowed) const;

    ModelConfig m_config;
    int m_layers = 0;
    int m_heads = 0;
    int m_positions = 0;
    double m_eps = 1e-12;
    QString m_activation;
    bool m_pooler = true;
};

} // namespace surfing
