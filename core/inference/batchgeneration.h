// Batch mode (issue 13): many prompts generate together, so each layer streams through the
// client once per step for all of them (the FlexGen idea: in the memory-bounded regime the bytes
// per step are the cost, and a batch shares them). Prompts of different lengths are left-padded
// with a mask, positions counted per row, so each row's greedy ids are those it gets alone.
#pragma once

#include "inference/generation.h"

#include <vector>

namespace surfing {

// `prompts`: token ids, none empty. Returns one row of new ids per prompt, in order.
GenerationResult generateBatch(DecoderModel &model, WeightStream &stream,
                               const std::vector<std::vector<int64_t>> &prompts,
                               const GenerationOptions &options, const TokenCallback &onToken = {});

} // namespace surfing
