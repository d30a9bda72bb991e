#include "inference/bertmodel.h"

#include "base/error.h"
#include "inference/tensorops.h"
#include "inference/weightstream.h"

namespace surfing {

using namespace ops;

BertModel::BertModel(const ModelConfig &config)
    : m_config(config)
{
    if (config.family != ModelFamily::Bert)
        throw Error(QStringLiteral("model type '%1' is not a BERT model").arg(config.modelType));
    const QJsonObject &j = config.json;
    m_layers = configInt(j, QStringLiteral("num_hidden_layers"));
    m_heads = configInt(j, QStringLiteral("num_attention_heads"));
    m_positions = configInt(j, QStringLiteral("max_position_embeddings"), 512);
    m_eps = configDouble(j, QStringLiteral("layer_norm_eps"), 1e-12);
    m_activation = j.value(QLatin1String("hidden_act")).toString(QStringLiteral("gelu"));
    if (m_heads == 0 || configInt(j, QStringLiteral("hidden_size")) % m_heads != 0)
        throw Error(QStringLiteral("config.json: hidden_size must be a multiple of num_attention_heads"));
    const QString positionType = j.value(QLatin1String("position_embedding_type")).toString(QStringLiteral("absolute"));
    if (positionType != QLatin1String("absolute"))
        throw Error(QStringLiteral("config.json: position_embedding_type '%1' is not supported (absolute)").arg(positionType));
}

QStringList BertModel::unitOrder() const
{
    QStringList order{QStringLiteral("embeddings")};
    for (int i = 0; i < m_layers; ++i)
        order << QStringLiteral("layer_%1").arg(i);
    if (m_pooler)
        order << QStringLiteral("pooler");
    return order;
}

at::Tensor BertModel::layer(const UnitWeights &w, const at::Tensor &x, const at::Tensor &allowed) const
{
    const auto dense = [&](const at::Tensor &in, const char *name) {
        const QString base = QLatin1String(name);
        return affine(in, w.stored(base + QLatin1String(".weight")), w.get(base + QLatin1String(".bias")));
    };
    const auto norm = [&](const at::Tensor &in, const char *name) {
        const QString base = QLatin1String(name);
        return layerNorm(in, w.get(base + QLatin1String(".weight")), w.get(base + QLatin1String(".bias")), m_eps);
    };
    const at::Tensor q = splitHeads(dense(x, "attention.self.query"), m_heads);
    const at::Tensor k = splitHeads(dense(x, "attention.self.key"), m_heads);
    const at::Tensor v = splitHeads(dense(x, "attention.self.value"), m_heads);
    const at::Tensor attn = mergeHeads(attend(q, k, v, allowed));
    const at::Tensor h = norm(dense(attn, "attention.output.dense") + x, "attention.output.LayerNorm");
    const at::Tensor inner = activation(m_activation, dense(h, "intermediate.dense"));
    return norm(dense(inner, "output.dense") + h, "output.LayerNorm");
}

BertOutput BertModel::forward(WeightStream &stream, const at::Tensor &ids, const at::Tensor &tokenTypes,
                              const at::Tensor &attentionMask, bool collectHidden) const
{
    const int64_t b = ids.size(0), t = ids.size(1);
    if (t > m_positions)
        throw Error(QStringLiteral("input of %1 tokens is longer than the model's %2 positions").arg(t).arg(m_positions));
    stream.beginStep(unitOrder());
    BertOutput out;
    at::Tensor h;
    {
        const UnitWeights w = stream.acquire(QStringLiteral("embeddings"));
        auto scope = stream.computeScope(QStringLiteral("embeddings"));
        const at::Tensor types = tokenTypes.defined() ? tokenTypes : at::zeros({b, t}, at::kLong);
        const at::Tensor positions = at::arange(t, at::kLong).unsqueeze(0);
        h = ops::embedding(w.stored(QStringLiteral("word_embeddings.weight")), ids)
            + ops::embedding(w.stored(QStringLiteral("token_type_embeddings.weight")), types)
            + ops::embedding(w.stored(QStringLiteral("position_embeddings.weight")), positions);
        h = layerNorm(h, w.get(QStringLiteral("LayerNorm.weight")), w.get(QStringLiteral("LayerNorm.bias")), m_eps);
    }
    // Padded keys are hidden from every query; padded queries are still computed (as HF does).
    const at::Tensor allowed = attentionMask.defined()
        ? attentionMask.to(at::kBool).view({b, 1, 1, t}) : at::Tensor();
    for (int i = 0; i < m_layers; ++i) {
        if (collectHidden)
            out.hiddenStates.push_back(h);
        const QString unit = QStringLiteral("layer_%1").arg(i);
        const UnitWeights w = stream.acquire(unit);
        auto scope = stream.computeScope(unit);
        h = layer(w, h, allowed);
    }
    if (collectHidden)
        out.hiddenStates.push_back(h);
    out.lastHidden = h;
    if (m_pooler) {
        const UnitWeights w = stream.acquire(QStringLiteral("pooler"));
        auto scope = stream.computeScope(QStringLiteral("pooler"));
        out.pooled = at::tanh(affine(h.select(1, 0), w.stored(QStringLiteral("dense.weight")), w.get(QStringLiteral("dense.bias"))));
    }
    return out;
}

} // namespace surfing
