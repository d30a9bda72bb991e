#include "inference/t5generator.h"

#include "base/error.h"

namespace surfing {
namespace {

void checkOptions(const T5GenerationOptions &o)
{
    if (o.maxNewTokens < 0)
        throw Error(QStringLiteral("max tokens must be >= 0 (got %1)").arg(o.maxNewTokens));
}

} // namespace

T5GenerationResult T5Generator::generate(const at::Tensor &inputIds, const at::Tensor &attentionMask,
                                         const T5GenerationOptions &options, const T5TokenCallback &onToken)
{
    checkOptions(options);
    const T5Config &config = m_model.config();
    const int64_t eos = options.eosTokenId.value_or(config.eosTokenId);
    Sampler sampler(options.sampling);

    T5GenerationResult result;
    result.encoder = m_model.encode(inputIds, attentionMask);
    const int64_t batch = inputIds.size(0);
    at::Tensor sequences = at::full({batch, 1}, config.decoderStartTokenId, at::kLong);
    std::vector<bool> finished(size_t(batch), false);
    T5DecoderState state;
    bool stopped = false;
    for (int step = 0; step < options.maxNewTokens && !stopped; ++step) {
        const at::Tensor input = options.useCache ? sequences.slice(1, sequences.size(1) - 1) : sequences;
        const at::Tensor logits = m_model.decode(input, result.encoder, options.useCache ? &state : nullptr);
        ++result.steps;
        const at::Tensor last = logits.select(1, logits.size(1) - 1);
        if (step == 0)
            result.firstLogits = last;
        at::Tensor next = sampler.next(last).contiguous();
        auto nextData = next.accessor<int64_t, 1>();
        bool allDone = true;
        for (int64_t row = 0; row < batch; ++row) {
            if (finished[size_t(row)]) {
                nextData[row] = config.padTokenId;
                continue;
            }
            finished[size_t(row)] = options.stopAtEos && nextData[row] == eos;
            allDone = allDone && finished[size_t(row)];
            if (onToken && !onToken(row, nextData[row]))
                stopped = true;
        }
        sequences = at::cat({sequences, next.unsqueeze(1)}, 1);
        stopped = stopped || allDone;
    }
    result.sequences = sequences;
    return result;
}

} // namespace surfing
