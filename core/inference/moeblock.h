// The sparse mixture-of-experts MLP of Qwen3-MoE (and Mixtral-style models): a router picks the
// top-k experts per token, each expert is its own streaming unit ("layer_3_expert_5") fetched
// only when the router picks it, and the experts' outputs are summed with the routing weights.
// Internal to core/inference (libtorch).
#pragma once

#include <ATen/ATen.h>
#include <QJsonObject>
#include <QString>
#include <vector>

namespace surfing {

class UnitWeights;
class WeightStream;

struct Routing {
    at::Tensor selected; // [N, k] int64 expert ids, largest probability first
    at::Tensor weights;  // [N, k] float32 routing weights (renormalised with norm_topk_prob)
};

class MoeBlock
{
public:
    // Reads num_experts, num_experts_per_tok, norm_topk_prob, decoder_sparse_step and
    // mlp_only_layers; a config without num_experts gives a block that is never sparse.
    MoeBlock(const QJsonObject &config, int layers, QString activation);

    bool isSparse(int layer) const;
    int experts() const { return m_experts; }

    // Router of `layer` (its chunk holds mlp.gate.weight) on x [B, T, hidden].
    Routing route(const UnitWeights &layerWeights, const at::Tensor &x) const;
    // The experts `routing` picked, fetched from the stream one unit each, in expert order, and
    // summed with their weights: [B, T, hidden].
    at::Tensor run(WeightStream &stream, int layer, const at::Tensor &x, const Routing &routing);

    // Units to announce ahead of the router for `layer`: the experts the last token of the
    // previous step picked there (consecutive tokens tend to pick the same experts). Empty
    // before the first step.
    QStringList predictedUnits(int layer) const;

private:
    int m_experts = 0;
    int m_topK = 0;
    bool m_normTopK = true;
    std::vector<bool> m_sparse;
    QString m_activation;
    std::vector<std::vector<int64_t>> m_lastUsed; // per layer, for predictedUnits()
};

} // namespace surfing
