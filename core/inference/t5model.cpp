#include "inference/t5model.h"

#include "base/error.h"
#include "inference/linearops.h"
#include "inference/weightstream.h"

namespace surfing {
namespace {

const QString kShared = QStringLiteral("shared_embeddings");
const QString kBiasKey = QStringLiteral("layer.0.SelfAttention.relative_attention_bias.weight");

QString blockName(const char *stack, int i)
{
    return QStringLiteral("%1_block_%2").arg(QLatin1String(stack)).arg(i);
}

void checkIds(const at::Tensor &ids, const char *what, int vocabSize)
{
    if (!ids.defined() || ids.dim() != 2 || ids.size(0) == 0 || ids.size(1) == 0)
        throw Error(QStringLiteral("T5: %1 must be a non-empty [batch, length] tensor").arg(QLatin1String(what)));
    if (ids.scalar_type() != at::kLong)
        throw Error(QStringLiteral("T5: %1 must be int64").arg(QLatin1String(what)));
    const int64_t lo = ids.min().item<int64_t>();
    const int64_t hi = ids.max().item<int64_t>();
    if (lo < 0 || hi >= vocabSize)
        throw Error(QStringLiteral("T5: %1 holds id %2 outside the vocabulary [0, %3)")
                        .arg(QLatin1String(what)).arg(lo < 0 ? lo : hi).arg(vocabSize));
}

at::Tensor relativeBiasTable(const UnitWeights &block0)
{
    if (!block0.contains(kBiasKey))
        throw Error(QStringLiteral("chunk '%1' has no '%2': T5 block 0 carries the relative position bias")
                        .arg(block0.unit(), kBiasKey));
    return block0.get(kBiasKey);
}

} // namespace

T5Model::T5Model(const T5Config &config, WeightStream &stream)
    : m_config(config), m_stream(stream)
{
}

QStringList T5Model::encoderUnits() const
{
    QStringList units{kShared};
    for (int i = 0; i < m_config.numLayers; ++i)
        units << blockName("encoder", i);
    units << QStringLiteral("encoder_final_layer_norm");
    return units;
}

QStringList T5Model::decoderUnits() const
{
    QStringList units{kShared};
    for (int i = 0; i < m_config.numDecoderLayers; ++i)
        units << blockName("decoder", i);
    units << QStringLiteral("decoder_final_layer_norm");
    if (!m_config.tieWordEmbeddings)
        units << QStringLiteral("lm_head");
    return units;
}

at::Tensor T5Model::embed(const at::Tensor &ids, const at::Tensor &shared) const
{
    if (shared.dim() != 2 || shared.size(0) < m_config.vocabSize || shared.size(1) != m_config.dModel)
        throw Error(QStringLiteral("chunk 'shared_embeddings': weight is not [%1, %2]")
                        .arg(m_config.vocabSize).arg(m_config.dModel));
    return ops::embedding(shared, ids);
}

T5EncoderOutput T5Model::encode(const at::Tensor &inputIds, const at::Tensor &attentionMask, T5Trace *trace)
{
    checkIds(inputIds, "input ids", m_config.vocabSize);
    at::Tensor mask = attentionMask.defined() ? attentionMask.to(at::kLong) : at::ones_like(inputIds);
    if (!mask.sizes().equals(inputIds.sizes()))
        throw Error(QStringLiteral("T5: the attention mask must have the shape of the input ids"));

    m_stream.beginStep(encoderUnits());
    at::Tensor hidden;
    {
        const UnitWeights shared = m_stream.acquire(kShared);
        auto scope = m_stream.computeScope(kShared);
        hidden = embed(inputIds, shared.stored(QStringLiteral("weight")));
    }
    if (trace)
        trace->hiddenStates.push_back(hidden);
    const at::Tensor padding = t5::paddingBias(mask);
    at::Tensor bias;
    for (int i = 0; i < m_config.numLayers; ++i) {
        const QString unit = blockName("encoder", i);
        const UnitWeights w = m_stream.acquire(unit);
        auto scope = m_stream.computeScope(unit);
        if (i == 0) {
            const int64_t n = inputIds.size(1);
            bias = t5::positionBias(relativeBiasTable(w), n, n, 0, true, m_config) + padding;
        }
        hidden = t5::encoderBlock(w, m_config, hidden, bias);
        if (trace && i + 1 < m_config.numLayers)
            trace->hiddenStates.push_back(hidden);
    }
    if (trace)
        trace->lastLayerPrenorm = hidden;
    {
        const QString unit = QStringLiteral("encoder_final_layer_norm");
        const UnitWeights w = m_stream.acquire(unit);
        auto scope = m_stream.computeScope(unit);
        hidden = t5::rmsNorm(hidden, w.get(QStringLiteral("weight")), m_config.layerNormEps);
    }
    if (trace)
        trace->hiddenStates.push_back(hidden);
    return {hidden, mask, padding};
}

at::Tensor T5Model::decode(const at::Tensor &decoderIds, const T5EncoderOutput &encoder,
                           T5DecoderState *state, T5Trace *trace)
{
    checkIds(decoderIds, "decoder ids", m_config.vocabSize);
    if (!encoder.hidden.defined() || encoder.hidden.size(0) != decoderIds.size(0))
        throw Error(QStringLiteral("T5: decoder ids and encoder output differ in batch size"));
    if (state && state->layers.empty())
        state->layers.resize(m_config.numDecoderLayers);
    const int64_t offset = state ? state->length : 0;
    const int64_t queries = decoderIds.size(1);

    m_stream.beginStep(decoderUnits(),
                       queries == 1 ? WeightStream::StepKind::NextToken : WeightStream::StepKind::Prompt);
    at::Tensor hidden;
    at::Tensor tiedHead; // the embeddings stay for the step only when the head reuses them
    {
        const UnitWeights shared = m_stream.acquire(kShared);
        auto scope = m_stream.computeScope(kShared);
        hidden = embed(decoderIds, shared.stored(QStringLiteral("weight")));
        if (m_config.tieWordEmbeddings)
            tiedHead = shared.stored(QStringLiteral("weight"));
    }
    if (trace)
        trace->hiddenStates.push_back(hidden);
    at::Tensor selfBias;
    for (int i = 0; i < m_config.numDecoderLayers; ++i) {
        const QString unit = blockName("decoder", i);
        const UnitWeights w = m_stream.acquire(unit);
        auto scope = m_stream.computeScope(unit);
        if (i == 0)
            selfBias = t5::positionBias(relativeBiasTable(w), queries, offset + queries, offset, false, m_config)
                       + t5::causalBias(queries, offset + queries, offset);
        hidden = t5::decoderBlock(w, m_config, hidden, selfBias, encoder.hidden, encoder.crossBias,
                                  state ? &state->layers[size_t(i)] : nullptr);
        if (trace && i + 1 < m_config.numDecoderLayers)
            trace->hiddenStates.push_back(hidden);
    }
    if (state)
        state->length = offset + queries;
    if (trace)
        trace->lastLayerPrenorm = hidden;
    {
        const QString unit = QStringLiteral("decoder_final_layer_norm");
        const UnitWeights w = m_stream.acquire(unit);
        auto scope = m_stream.computeScope(unit);
        hidden = t5::rmsNorm(hidden, w.get(QStringLiteral("weight")), m_config.layerNormEps);
    }
    if (trace)
        trace->hiddenStates.push_back(hidden);
    return lmHead(hidden, tiedHead);
}

at::Tensor T5Model::lmHead(const at::Tensor &hidden, const at::Tensor &tiedHead)
{
    if (m_config.tieWordEmbeddings) {
        // Tied head: transformers rescales by d_model^-0.5 (mesh-tensorflow convention).
        auto scope = m_stream.computeScope(kShared);
        return ops::affine(hidden * std::pow(double(m_config.dModel), -0.5), tiedHead);
    }
    const QString unit = QStringLiteral("lm_head");
    const UnitWeights w = m_stream.acquire(unit);
    auto scope = m_stream.computeScope(unit);
    return ops::affine(hidden, w.stored(QStringLiteral("weight")));
}

} // namespace surfing
