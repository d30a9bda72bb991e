// Picks the next token from logits: greedy (temperature 0), or sampling with temperature, top-k
// and top-p from a seeded generator, so one seed gives one continuation.
#pragma once

#include <ATen/ATen.h>
#include <cstdint>
#include <random>

namespace surfing {

struct SamplingOptions {
    double temperature = 0.0; // 0 = greedy (argmax; the lowest id wins a tie)
    int topK = 0;             // 0 = off
    double topP = 1.0;        // 1 = off
    uint64_t seed = 0;
};

class Sampler
{
public:
    explicit Sampler(const SamplingOptions &options);
    // logits [B, vocab] -> ids [B] int64.
    at::Tensor next(const at::Tensor &logits);

private:
    int64_t sampleRow(const at::Tensor &logits);

    SamplingOptions m_options;
    std::mt19937_64 m_rng;
};

} // namespace surfing
