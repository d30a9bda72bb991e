#include "inference/sampler.h"

#include "base/error.h"

#include <limits>

namespace surfing {

Sampler::Sampler(const SamplingOptions &options)
    : m_options(options), m_rng(options.seed)
{
    if (options.temperature < 0)
        throw Error(QStringLiteral("temperature must be >= 0 (0 = greedy)"));
    if (options.topK < 0)
        throw Error(QStringLiteral("top-k must be >= 0 (0 = off)"));
    if (!(options.topP > 0.0 && options.topP <= 1.0))
        throw Error(QStringLiteral("top-p must be in (0, 1]"));
}

at::Tensor Sampler::next(const at::Tensor &logits)
{
    if (m_options.temperature == 0.0)
        return logits.argmax(-1);
    at::Tensor out = at::empty({logits.size(0)}, at::kLong);
    for (int64_t b = 0; b < logits.size(0); ++b)
        out[b] = sampleRow(logits[b]);
    return out;
}

int64_t Sampler::sampleRow(const at::Tensor &row)
{
    at::Tensor scaled = row.to(at::kDouble) / m_options.temperature;
    const int64_t vocab = scaled.size(0);
    // Candidates in descending order of logit; the filters cut this list's tail.
    auto [sorted, order] = scaled.sort(-1, true);
    int64_t keep = vocab;
    if (m_options.topK > 0)
        keep = std::min<int64_t>(keep, m_options.topK);
    at::Tensor probs = at::softmax(sorted.narrow(0, 0, keep), -1);
    if (m_options.topP < 1.0) {
        // Keep the smallest head whose mass reaches top_p (at least one token).
        const at::Tensor before = probs.cumsum(0) - probs;
        keep = std::max<int64_t>(1, before.lt(m_options.topP).sum().item<int64_t>());
        probs = at::softmax(sorted.narrow(0, 0, keep), -1);
    }
    const double *p = probs.data_ptr<double>();
    const double u = std::uniform_real_distribution<double>(0.0, 1.0)(m_rng);
    double acc = 0.0;
    int64_t pick = keep - 1;
    for (int64_t i = 0; i < keep; ++i) {
        acc += p[i];
        if (u < acc) {
            pick = i;
            break;
        }
    }
    return order[pick].item<int64_t>();
}

} // namespace surfing
