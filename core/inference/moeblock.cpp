#include "inference/moeblock.h"

#include "base/error.h"
#include "inference/architectures.h"
#include "inference/tensorops.h"
#include "inference/weightstream.h"

#include <QJsonArray>
#include <QStringList>

namespace surfing {

using namespace ops;

MoeBlock::MoeBlock(const QJsonObject &config, int layers, QString activation)
    : m_sparse(size_t(layers), false), m_activation(std::move(activation)), m_lastUsed(size_t(layers))
{
    m_experts = configInt(config, QStringLiteral("num_experts"), 0);
    if (m_experts == 0)
        return;
    m_topK = configInt(config, QStringLiteral("num_experts_per_tok"));
    if (m_topK < 1 || m_topK > m_experts)
        throw Error(QStringLiteral("config.json: num_experts_per_tok must be between 1 and num_experts (%1)").arg(m_experts));
    m_normTopK = config.value(QLatin1String("norm_topk_prob")).toBool(false);
    const int step = configInt(config, QStringLiteral("decoder_sparse_step"), 1);
    if (step < 1)
        throw Error(QStringLiteral("config.json: decoder_sparse_step must be at least 1"));
    QVector<int> denseOnly;
    for (const QJsonValue &v : config.value(QLatin1String("mlp_only_layers")).toArray())
        denseOnly.append(v.toInt(-1));
    // HF: a layer is sparse unless listed in mlp_only_layers, and only every decoder_sparse_step-th.
    for (int i = 0; i < layers; ++i)
        m_sparse[size_t(i)] = !denseOnly.contains(i) && (i + 1) % step == 0;
}

bool MoeBlock::isSparse(int layer) const
{
    return m_experts > 0 && m_sparse.at(size_t(layer));
}

Routing MoeBlock::route(const UnitWeights &layerWeights, const at::Tensor &x) const
{
    const at::Tensor logits = affine(x.reshape({-1, x.size(-1)}), layerWeights.stored(QStringLiteral("mlp.gate.weight")));
    if (logits.size(-1) != m_experts)
        throw Error(QStringLiteral("chunk '%1': mlp.gate.weight has %2 rows, config.json num_experts is %3")
                        .arg(layerWeights.unit()).arg(logits.size(-1)).arg(m_experts));
    const at::Tensor probabilities = at::softmax(logits, -1, at::kFloat);
    auto [weights, selected] = at::topk(probabilities, m_topK, -1);
    if (m_normTopK)
        weights = weights / weights.sum(-1, true);
    return {selected, weights};
}

at::Tensor MoeBlock::run(WeightStream &stream, int layer, const at::Tensor &x, const Routing &routing)
{
    const at::Tensor flat = x.reshape({-1, x.size(-1)});
    at::Tensor out = at::zeros_like(flat);
    const at::Tensor picked = std::get<0>(at::_unique(routing.selected.flatten(), true)); // sorted
    const std::vector<int64_t> used(picked.data_ptr<int64_t>(), picked.data_ptr<int64_t>() + picked.numel());
    QStringList units;
    for (int64_t e : used)
        units << unitnames::expert(layer, int(e));
    stream.replan(unitnames::layer(layer), unitnames::expertPrefix(layer), units);
    for (size_t n = 0; n < used.size(); ++n) {
        const at::Tensor hits = routing.selected.eq(used[n]);                    // [N, k]
        const at::Tensor rows = hits.any(-1).nonzero().select(1, 0);
        const at::Tensor weight = (routing.weights * hits).sum(-1).index_select(0, rows).unsqueeze(-1);
        const UnitWeights w = stream.acquire(units[int(n)]);
        auto scope = stream.computeScope(units[int(n)]);
        const at::Tensor in = flat.index_select(0, rows);
        const at::Tensor gated = activation(m_activation, affine(in, w.stored(QStringLiteral("gate_proj.weight"))))
                                 * affine(in, w.stored(QStringLiteral("up_proj.weight")));
        out.index_add_(0, rows, affine(gated, w.stored(QStringLiteral("down_proj.weight"))) * weight);
    }
    // The next step most likely needs what the last token picked.
    const at::Tensor last = routing.selected.view({x.size(0), x.size(1), -1}).select(1, x.size(1) - 1);
    const at::Tensor lastPicked = std::get<0>(at::_unique(last.flatten(), true));
    m_lastUsed[size_t(layer)].assign(lastPicked.data_ptr<int64_t>(), lastPicked.data_ptr<int64_t>() + lastPicked.numel());
    return out.view(x.sizes());
}

QStringList MoeBlock::predictedUnits(int layer) const
{
    QStringList units;
    for (int64_t e : m_lastUsed.at(size_t(layer)))
        units << unitnames::expert(layer, int(e));
    return units;
}

} // namespace surfing
