// Autoregressive generation with a decoder model: prompt pass, then one token per step through
// the KV cache (kept across steps while layer weights stream), stop at EOS (any of several ids)
// or max tokens.
#pragma once

#include "inference/decodermodel.h"
#include "inference/sampler.h"

#include <functional>
#include <vector>

namespace surfing {

struct GenerationOptions {
    int maxNewTokens = 64;
    SamplingOptions sampling;
    bool stopAtEos = true;
    std::vector<int64_t> eosIds; // tokens that end a row; empty: the model's eos_token_id
    bool useKvCache = true;  // false recomputes the whole sequence every step (for checks)
    std::optional<int64_t> padId; // written after a row finished early (default: EOS, else 0)
};

struct GenerationResult {
    std::vector<std::vector<int64_t>> newIds; // per row, EOS included when it stopped a row
    // With keepPromptLogits only (a batch's would stay alive through every step):
    at::Tensor promptLogits;                  // [B, T, vocab] of the prompt pass
    at::Tensor promptHidden;                  // [B, T, hidden] final hidden states of the prompt
    int64_t kvCacheBytes = 0;                 // what the KV cache held at the end, unused room included
};

// Called after each step with the token of every row (-1 for rows already finished); return
// false to stop.
using TokenCallback = std::function<bool(int step, const std::vector<int64_t> &tokens)>;

// `ids` [B, T] int64; `attentionMask` [B, T] (0 = left padding) or undefined for no padding.
GenerationResult generate(DecoderModel &model, WeightStream &stream, const at::Tensor &ids,
                          const at::Tensor &attentionMask, const GenerationOptions &options,
                          const TokenCallback &onToken = {}, bool keepPromptLogits = false);

} // namespace surfing
