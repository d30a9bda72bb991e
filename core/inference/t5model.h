// T5 v1.0 / v1.1 (T5ForConditionalGeneration) run unit by unit from a WeightStream: an encoder pass
// over shared_embeddings, encoder_block_N, encoder_final_layer_norm, then decoder passes over
// shared_embeddings, decoder_block_N, decoder_final_layer_norm (and lm_head when untied).
// Internal to core/inference (includes libtorch).
#pragma once

#include "inference/t5config.h"
#include "inference/t5layers.h"

#include <QStringList>
#include <vector>

namespace surfing {

class WeightStream;

struct T5EncoderOutput {
    at::Tensor hidden;    // [batch, source, d_model], after encoder.final_layer_norm
    at::Tensor mask;      // [batch, source] int64, 1 = real token
    at::Tensor crossBias; // padding bias of the encoder keys for cross-attention
};

// What later decoder steps reuse: per block the self keys/values so far and the cross keys/values.
struct T5DecoderState {
    std::vector<t5::DecoderLayerCache> layers;
    int64_t length = 0; // decoder positions already in the cache
};

// Optional taps for tests and --dump-tensors, named as transformers' output_hidden_states.
struct T5Trace {
    std::vector<at::Tensor> hiddenStates; // embeddings, each block's output, final norm output
    at::Tensor lastLayerPrenorm;          // last block's output before the final norm
};

class T5Model
{
public:
    T5Model(const T5Config &config, WeightStream &stream);

    const T5Config &config() const { return m_config; }
    QStringList encoderUnits() const;
    QStringList decoderUnits() const;

    // inputIds [batch, source] int64; attentionMask the same shape (1 real, 0 padding) or undefined.
    T5EncoderOutput encode(const at::Tensor &inputIds, const at::Tensor &attentionMask,
                           T5Trace *trace = nullptr);

    // Logits [batch, target, vocab] for decoderIds [batch, target]. Without a state the ids are the
    // whole decoder input (teacher forcing); with one they continue its cached positions and are
    // appended to it.
    at::Tensor decode(const at::Tensor &decoderIds, const T5EncoderOutput &encoder,
                      T5DecoderState *state = nullptr, T5Trace *trace = nullptr);

private:
    at::Tensor embed(const at::Tensor &ids, const at::Tensor &shared) const;
    at::Tensor lmHead(const at::Tensor &hidden, const at::Tensor &tiedHead);

    T5Config m_config;
    WeightStream &m_stream;
};

} // namespace surfing
