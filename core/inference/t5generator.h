// Autoregressive generation for T5: one encoder pass, then one decoder pass per new token with a
// per-block KV cache (self-attention grows, cross-attention keys/values are computed once from the
// encoder output). Greedy or sampled (temperature, top-k, top-p, seed), max tokens, stop at EOS.
// Internal to core/inference (includes libtorch).
#pragma once

#include "inference/sampler.h"
#include "inference/t5model.h"

#include <functional>
#include <optional>

namespace surfing {

struct T5GenerationOptions {
    int maxNewTokens = 20;
    SamplingOptions sampling;    // greedy by default; the same Sampler as the decoder models
    bool stopAtEos = true;
    bool useCache = true;        // false re-runs the whole decoder input each step (for checks)
    std::optional<int64_t> eosTokenId; // default: the config's
};

// Called for every token made, row by row; returning false stops generation after this step.
using T5TokenCallback = std::function<bool(int64_t row, int64_t token)>;

struct T5GenerationResult {
    // [batch, 1 + generated]: decoder start id, then the new ids; rows that ended at EOS are
    // padded with the pad id, as transformers' generate() does.
    at::Tensor sequences;
    T5EncoderOutput encoder;
    at::Tensor firstLogits;      // [batch, vocab] of the first decoder step
    int steps = 0;               // decoder passes run
};

class T5Generator
{
public:
    explicit T5Generator(T5Model &model) : m_model(model) {}

    T5GenerationResult generate(const at::Tensor &inputIds, const at::Tensor &attentionMask,
                                const T5GenerationOptions &options, const T5TokenCallback &onToken = {});

private:
    T5Model &m_model;
};

} // namespace surfing
