#include "inference/llamamodel.h"

#include "base/error.h"
#include "inference/tensorops.h"
#include "inference/weightstream.h"

#include <QJsonValue>

namespace surfing {

using namespace ops;

LlamaModel::LlamaModel(const ModelConfig &config)
    : DecoderModel(config)
{
    const QJsonObject &j = config.json;
    const int hidden = configInt(j, QStringLiteral("hidden_size"));
    m_layers = configInt(j, QStringLiteral("num_hidden_layers"));
    m_heads = configInt(j, QStringLiteral("num_attention_heads"));
    m_kvHeads = configInt(j, QStringLiteral("num_key_value_heads"), m_heads);
    m_vocab = configInt(j, QStringLiteral("vocab_size"));
    m_eps = configDouble(j, QStringLiteral("rms_norm_eps"), 1e-6);
    m_ropeTheta = configDouble(j, QStringLiteral("rope_theta"), 10000.0);
    m_tied = config.tieWordEmbeddings;
    m_bias = j.value(QLatin1String("attention_bias")).toBool(false);
    m_activation = j.value(QLatin1String("hidden_act")).toString(QStringLiteral("silu"));
    if (m_heads == 0 || m_kvHeads == 0 || hidden % m_heads != 0 || m_heads % m_kvHeads != 0)
        throw Error(QStringLiteral("config.json: hidden_size must be a multiple of num_attention_heads, "
                                   "and num_attention_heads a multiple of num_key_value_heads"));
    m_headDim = configInt(j, QStringLiteral("head_dim"), hidden / m_heads);
    if (m_headDim % 2 != 0)
        throw Error(QStringLiteral("config.json: head_dim %1 must be even for rotary embeddings").arg(m_headDim));
    const QJsonValue scaling = j.value(QLatin1String("rope_scaling"));
    if (!scaling.isNull() && !scaling.isUndefined())
        throw Error(QStringLiteral("config.json: rope_scaling is not supported yet; remove it or use a model without it"));
}

QStringList LlamaModel::unitOrder() const
{
    QStringList order{QStringLiteral("embed_tokens")};
    for (int i = 0; i < m_layers; ++i)
        order << QStringLiteral("layer_%1").arg(i);
    order << QStringLiteral("norm");
    if (!m_tied)
        order << QStringLiteral("lm_head");
    return order;
}

at::Tensor LlamaModel::layer(const UnitWeights &w, const at::Tensor &x, const at::Tensor &cos, const at::Tensor &sin,
                             const at::Tensor &allowed, KVCache *cache, int index) const
{
    const auto proj = [&](const at::Tensor &in, const char *name) {
        const QString base = QLatin1String(name);
        const QString bias = base + QLatin1String(".bias");
        return affine(in, w.stored(base + QLatin1String(".weight")), w.contains(bias) ? w.get(bias) : at::Tensor());
    };
    const at::Tensor a = rmsNorm(x, w.get(QStringLiteral("input_layernorm.weight")), m_eps);
    at::Tensor q = splitHeads(proj(a, "self_attn.q_proj"), m_heads);
    at::Tensor k = splitHeads(proj(a, "self_attn.k_proj"), m_kvHeads);
    at::Tensor v = splitHeads(proj(a, "self_attn.v_proj"), m_kvHeads);
    q = rotary(q, cos, sin);
    k = rotary(k, cos, sin);
    if (cache)
        std::tie(k, v) = cache->append(index, k, v);
    const at::Tensor h = x + proj(mergeHeads(attend(q, k, v, allowed)), "self_attn.o_proj");
    const at::Tensor m = rmsNorm(h, w.get(QStringLiteral("post_attention_layernorm.weight")), m_eps);
    const at::Tensor gated = activation(m_activation, proj(m, "mlp.gate_proj")) * proj(m, "mlp.up_proj");
    return h + proj(gated, "mlp.down_proj");
}

DecoderOutput LlamaModel::forward(WeightStream &stream, const DecoderInput &input, KVCache *cache,
                                  const ForwardOptions &options)
{
    const int64_t t = input.ids.size(1);
    stream.beginStep(unitOrder());
    DecoderOutput out;

    // cos/sin [B, 1, T, D]: inv_freq in float32 as HF computes it, repeated for both halves.
    const at::Tensor invFreq = 1.0 / at::pow(m_ropeTheta, at::arange(0, m_headDim, 2, at::kLong).to(at::kFloat) / float(m_headDim));
    const at::Tensor freqs = input.positions.to(at::kFloat).unsqueeze(-1) * invFreq;
    const at::Tensor emb = at::cat({freqs, freqs}, -1).unsqueeze(1);
    const at::Tensor cos = emb.cos(), sin = emb.sin();
    const at::Tensor allowed = causalMask(input.keyMask, t);

    UnitWeights embed = stream.acquire(QStringLiteral("embed_tokens"));
    at::Tensor h;
    {
        auto scope = stream.computeScope(QStringLiteral("embed_tokens"));
        h = ops::embedding(embed.stored(QStringLiteral("weight")), input.ids);
    }
    if (!m_tied)
        embed = UnitWeights(); // only a tied head needs the embedding again
    for (int i = 0; i < m_layers; ++i) {
        if (options.collectHidden)
            out.hiddenStates.push_back(h);
        const QString unit = QStringLiteral("layer_%1").arg(i);
        const UnitWeights w = stream.acquire(unit);
        auto scope = stream.computeScope(unit);
        h = layer(w, h, cos, sin, allowed, cache, i);
    }
    if (options.collectHidden)
        out.hiddenStates.push_back(h);
    {
        const UnitWeights norm = stream.acquire(QStringLiteral("norm"));
        auto scope = stream.computeScope(QStringLiteral("norm"));
        out.hidden = rmsNorm(h, norm.get(QStringLiteral("weight")), m_eps);
        if (m_tied)
            out.logits = affine(options.lastLogitsOnly ? out.hidden.narrow(1, t - 1, 1) : out.hidden,
                                embed.stored(QStringLiteral("weight")));
    }
    if (!m_tied) {
        const UnitWeights head = stream.acquire(QStringLiteral("lm_head"));
        auto scope = stream.computeScope(QStringLiteral("lm_head"));
        out.logits = affine(options.lastLogitsOnly ? out.hidden.narrow(1, t - 1, 1) : out.hidden,
                            head.stored(QStringLiteral("weight")));
    }
    return out;
}

} // namespace surfing
