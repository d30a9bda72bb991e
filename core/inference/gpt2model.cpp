#include "inference/gpt2model.h"

#include "base/error.h"
#include "inference/tensorops.h"
#include "inference/weightstream.h"

namespace surfing {

using namespace ops;

Gpt2Model::Gpt2Model(const ModelConfig &config)
    : DecoderModel(config)
{
    const QJsonObject &j = config.json;
    m_layers = configInt(j, QStringLiteral("n_layer"));
    m_heads = configInt(j, QStringLiteral("n_head"));
    m_vocab = configInt(j, QStringLiteral("vocab_size"));
    m_positions = configInt(j, QStringLiteral("n_positions"), 1024);
    m_eps = configDouble(j, QStringLiteral("layer_norm_epsilon"), 1e-5);
    m_activation = j.value(QLatin1String("activation_function")).toString(QStringLiteral("gelu_new"));
    if (m_heads == 0 || configInt(j, QStringLiteral("n_embd")) % m_heads != 0)
        throw Error(QStringLiteral("config.json: n_embd must be a multiple of n_head"));
    if (j.value(QLatin1String("scale_attn_by_inverse_layer_idx")).toBool()
        || j.value(QLatin1String("reorder_and_upcast_attn")).toBool())
        throw Error(QStringLiteral("config.json: scale_attn_by_inverse_layer_idx / reorder_and_upcast_attn are not supported"));
}

QStringList Gpt2Model::unitOrder() const
{
    QStringList order{QStringLiteral("wte"), QStringLiteral("wpe")};
    for (int i = 0; i < m_layers; ++i)
        order << QStringLiteral("block_%1").arg(i);
    order << QStringLiteral("ln_f");
    return order;
}

at::Tensor Gpt2Model::block(const UnitWeights &w, const at::Tensor &x, const at::Tensor &allowed,
                            KVCache *cache, int layer) const
{
    const auto conv1d = [&](const at::Tensor &in, const QString &name) {
        return affineInOut(in, w.stored(name + QLatin1String(".weight")), w.get(name + QLatin1String(".bias")));
    };
    const at::Tensor a = layerNorm(x, w.get(QStringLiteral("ln_1.weight")), w.get(QStringLiteral("ln_1.bias")), m_eps);
    const std::vector<at::Tensor> qkv = conv1d(a, QStringLiteral("attn.c_attn")).chunk(3, -1);
    at::Tensor k = splitHeads(qkv[1], m_heads), v = splitHeads(qkv[2], m_heads);
    if (cache)
        std::tie(k, v) = cache->append(layer, k, v);
    const at::Tensor attn = mergeHeads(attend(splitHeads(qkv[0], m_heads), k, v, allowed));
    const at::Tensor h = x + conv1d(attn, QStringLiteral("attn.c_proj"));
    const at::Tensor m = layerNorm(h, w.get(QStringLiteral("ln_2.weight")), w.get(QStringLiteral("ln_2.bias")), m_eps);
    return h + conv1d(activation(m_activation, conv1d(m, QStringLiteral("mlp.c_fc"))), QStringLiteral("mlp.c_proj"));
}

DecoderOutput Gpt2Model::forward(WeightStream &stream, const DecoderInput &input, KVCache *cache,
                                 const ForwardOptions &options)
{
    if (input.positions.max().item<int64_t>() >= m_positions)
        throw Error(QStringLiteral("sequence longer than the model's %1 positions (n_positions)").arg(m_positions));
    const int64_t t = input.ids.size(1);
    stream.beginStep(unitOrder(), t == 1 ? WeightStream::StepKind::NextToken : WeightStream::StepKind::Prompt);
    DecoderOutput out;

    const UnitWeights wte = stream.acquire(QStringLiteral("wte"));
    at::Tensor h;
    {
        auto scope = stream.computeScope(QStringLiteral("wte"));
        h = ops::embedding(wte.stored(QStringLiteral("weight")), input.ids);
    }
    {
        const UnitWeights wpe = stream.acquire(QStringLiteral("wpe"));
        auto scope = stream.computeScope(QStringLiteral("wpe"));
        h = h + ops::embedding(wpe.stored(QStringLiteral("weight")), input.positions);
    }
    const at::Tensor allowed = causalMask(input.keyMask, t);
    for (int i = 0; i < m_layers; ++i) {
        if (options.collectHidden)
            out.hiddenStates.push_back(h);
        const QString unit = QStringLiteral("block_%1").arg(i);
        const UnitWeights w = stream.acquire(unit);
        auto scope = stream.computeScope(unit);
        h = block(w, h, allowed, cache, i);
    }
    if (options.collectHidden)
        out.hiddenStates.push_back(h);
    {
        const UnitWeights lnf = stream.acquire(QStringLiteral("ln_f"));
        auto scope = stream.computeScope(QStringLiteral("ln_f"));
        out.hidden = layerNorm(h, lnf.get(QStringLiteral("weight")), lnf.get(QStringLiteral("bias")), m_eps);
        // The LM head is tied to wte, held since the start of the step.
        const at::Tensor last = options.lastLogitsOnly ? out.hidden.narrow(1, t - 1, 1) : out.hidden;
        out.logits = affine(last, wte.stored(QStringLiteral("weight")));
    }
    return out;
}

} // namespace surfing
