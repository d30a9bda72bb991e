#include "inference/llamamodel.h"

#include "base/error.h"
#include "inference/architectures.h"
#include "inference/rope.h"
#include "inference/tensorops.h"
#include "inference/weightstream.h"

#include <QJsonValue>

namespace surfing {

using namespace ops;

namespace {

QString activationOf(const QJsonObject &j)
{
    return j.value(QLatin1String("hidden_act")).toString(QStringLiteral("silu"));
}

} // namespace

LlamaModel::LlamaModel(const ModelConfig &config)
    : DecoderModel(config),
      m_moe(config.json, configInt(config.json, QStringLiteral("num_hidden_layers")), activationOf(config.json))
{
    const QJsonObject &j = config.json;
    const int hidden = configInt(j, QStringLiteral("hidden_size"));
    m_layers = configInt(j, QStringLiteral("num_hidden_layers"));
    m_heads = configInt(j, QStringLiteral("num_attention_heads"));
    m_kvHeads = configInt(j, QStringLiteral("num_key_value_heads"), m_heads);
    m_vocab = configInt(j, QStringLiteral("vocab_size"));
    m_eps = configDouble(j, QStringLiteral("rms_norm_eps"), 1e-6);
    m_tied = config.tieWordEmbeddings;
    m_activation = activationOf(j);
    const bool explicitHeadDim = j.value(QLatin1String("head_dim")).isDouble();
    if (m_heads == 0 || m_kvHeads == 0 || (!explicitHeadDim && hidden % m_heads != 0) || m_heads % m_kvHeads != 0)
        throw Error(QStringLiteral("config.json: hidden_size must be a multiple of num_attention_heads (unless head_dim "
                                   "is given), and num_attention_heads a multiple of num_key_value_heads"));
    m_headDim = configInt(j, QStringLiteral("head_dim"), hidden / m_heads);
    if (m_headDim == 0 || m_headDim % 2 != 0)
        throw Error(QStringLiteral("config.json: head_dim %1 must be even for rotary embeddings").arg(m_headDim));
    if (j.value(QLatin1String("use_sliding_window")).toBool(false))
        throw Error(QStringLiteral("config.json: use_sliding_window true is not supported yet"));
    m_invFreq = ropeInverseFrequencies(j, m_headDim);
}

QStringList LlamaModel::unitOrder() const
{
    QStringList order{QStringLiteral("embed_tokens")};
    for (int i = 0; i < m_layers; ++i) {
        order << unitnames::layer(i);
        if (m_moe.isSparse(i))
            order << m_moe.predictedUnits(i);
    }
    order << QStringLiteral("norm");
    if (!m_tied)
        order << QStringLiteral("lm_head");
    return order;
}

at::Tensor LlamaModel::attention(const UnitWeights &w, const at::Tensor &x, const at::Tensor &cos, const at::Tensor &sin,
                                 const at::Tensor &allowed, KVCache *cache, int index) const
{
    const auto proj = [&](const at::Tensor &in, const char *name) { return linear(w, QLatin1String(name), in); };
    const at::Tensor a = rmsNorm(x, w.get(QStringLiteral("input_layernorm.weight")), m_eps);
    at::Tensor q = splitHeads(proj(a, "self_attn.q_proj"), m_heads);
    at::Tensor k = splitHeads(proj(a, "self_attn.k_proj"), m_kvHeads);
    at::Tensor v = splitHeads(proj(a, "self_attn.v_proj"), m_kvHeads);
    if (q.size(-1) != m_headDim || k.size(-1) != m_headDim)
        throw Error(QStringLiteral("chunk '%1': q_proj/k_proj do not give heads of head_dim %2").arg(w.unit()).arg(m_headDim));
    // Qwen3: an RMSNorm over each head of q and k, before the rotation.
    if (w.contains(QStringLiteral("self_attn.q_norm.weight")))
        q = rmsNorm(q, w.get(QStringLiteral("self_attn.q_norm.weight")), m_eps);
    if (w.contains(QStringLiteral("self_attn.k_norm.weight")))
        k = rmsNorm(k, w.get(QStringLiteral("self_attn.k_norm.weight")), m_eps);
    q = rotary(q, cos, sin);
    k = rotary(k, cos, sin);
    if (cache)
        std::tie(k, v) = cache->append(index, k, v);
    return x + proj(mergeHeads(attend(q, k, v, allowed)), "self_attn.o_proj");
}

at::Tensor LlamaModel::denseMlp(const UnitWeights &w, const at::Tensor &x) const
{
    // In place: a prompt of many rows (a batch) makes these [rows, intermediate] the largest
    // tensors of the forward pass; out of place, four of them were alive at once.
    at::Tensor gated = activationInPlace(m_activation, linear(w, QStringLiteral("mlp.gate_proj"), x));
    gated.mul_(linear(w, QStringLiteral("mlp.up_proj"), x));
    return linear(w, QStringLiteral("mlp.down_proj"), gated);
}

at::Tensor LlamaModel::layer(WeightStream &stream, const at::Tensor &x, const at::Tensor &cos, const at::Tensor &sin,
                             const at::Tensor &allowed, KVCache *cache, int index)
{
    const QString unit = unitnames::layer(index);
    at::Tensor h, m;
    Routing routing;
    {
        const UnitWeights w = stream.acquire(unit);
        auto scope = stream.computeScope(unit);
        h = attention(w, x, cos, sin, allowed, cache, index);
        m = rmsNorm(h, w.get(QStringLiteral("post_attention_layernorm.weight")), m_eps);
        if (!m_moe.isSparse(index))
            return h + denseMlp(w, m);
        routing = m_moe.route(w, m);
    }
    // The layer's weights are let go before its experts arrive.
    return h + m_moe.run(stream, index, m, routing);
}

DecoderOutput LlamaModel::forward(WeightStream &stream, const DecoderInput &input, KVCache *cache,
                                  const ForwardOptions &options)
{
    const int64_t t = input.ids.size(1);
    stream.beginStep(unitOrder(), t == 1 ? WeightStream::StepKind::NextToken : WeightStream::StepKind::Prompt);
    DecoderOutput out;

    const auto [cos, sin] = ropeCosSin(m_invFreq, input.positions);
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
        h = layer(stream, h, cos, sin, allowed, cache, i);
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
