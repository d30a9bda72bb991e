#include "inference/t5generator.h"

#include "base/error.h"

#include <ATen/CPUGeneratorImpl.h>
#include <limits>

namespace surfing {
namespace {

void checkOptions(const T5GenerationOptions &o)
{
    if (o.maxNewTokens < 0)
        throw Error(QStringLiteral("max tokens must be >= 0 (got %1)").arg(o.maxNewTokens));
    if (!(o.temperature >= 0.0))
        throw Error(QStringLiteral("temperature must be >= 0 (got %1)").arg(o.temperature));
    if (o.topK < 0)
        throw Error(QStringLiteral("top-k must be >= 0 (got %1)").arg(o.topK));
    if (!(o.topP > 0.0 && o.topP <= 1.0))
        throw Error(QStringLiteral("top-p must be in (0, 1] (got %1)").arg(o.topP));
}

const float kMinusInf = -std::numeric_limits<float>::infinity();

// transformers' TopKLogitsWarper: everything below the k-th largest logit is removed.
at::Tensor keepTopK(const at::Tensor &logits, int k)
{
    k = int(std::min<int64_t>(k, logits.size(-1)));
    const at::Tensor kth = std::get<0>(at::topk(logits, k, -1)).select(-1, k - 1).unsqueeze(-1);
    return logits.masked_fill(logits.lt(kth), kMinusInf);
}

// transformers' TopPLogitsWarper: drop the least likely tokens whose total mass is <= 1 - p,
// always keeping the most likely one.
at::Tensor keepTopP(const at::Tensor &logits, double p)
{
    const auto sorted = at::sort(logits, -1, false);
    const at::Tensor cumulative = at::softmax(std::get<0>(sorted), -1).cumsum(-1);
    at::Tensor remove = cumulative.le(1.0 - p);
    remove.select(-1, remove.size(-1) - 1).fill_(false);
    const at::Tensor removeOriginal = remove.scatter(-1, std::get<1>(sorted), remove);
    return logits.masked_fill(removeOriginal, kMinusInf);
}

} // namespace

at::Tensor T5Generator::selectNext(const at::Tensor &logits, const T5GenerationOptions &options,
                                   at::Generator &generator)
{
    if (options.temperature == 0.0)
        return logits.argmax(-1);
    at::Tensor scores = logits.to(at::kFloat) / options.temperature;
    if (options.topK > 0)
        scores = keepTopK(scores, options.topK);
    if (options.topP < 1.0)
        scores = keepTopP(scores, options.topP);
    return at::multinomial(at::softmax(scores, -1), 1, false, generator).squeeze(-1);
}

T5GenerationResult T5Generator::generate(const at::Tensor &inputIds, const at::Tensor &attentionMask,
                                         const T5GenerationOptions &options, const T5TokenCallback &onToken)
{
    checkOptions(options);
    const T5Config &config = m_model.config();
    const int64_t eos = options.eosTokenId.value_or(config.eosTokenId);
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);

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
        at::Tensor next = selectNext(logits.select(1, logits.size(1) - 1), options, generator);
        auto nextData = next.accessor<int64_t, 1>();
        bool allDone = true;
        for (int64_t row = 0; row < batch; ++row) {
            if (finished[size_t(row)]) {
                nextData[row] = config.padTokenId;
                continue;
            }
            finished[size_t(row)] = nextData[row] == eos;
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
