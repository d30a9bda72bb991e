#include "inference/generation.h"

#include "base/error.h"

#include <algorithm>

namespace surfing {
namespace {

// HF generate()'s position ids: real tokens count from 0, padded slots get 1.
at::Tensor positionsFromMask(const at::Tensor &mask)
{
    return (mask.to(at::kLong).cumsum(-1) - 1).masked_fill(mask.eq(0), 1);
}

} // namespace

GenerationResult generate(DecoderModel &model, WeightStream &stream, const at::Tensor &ids,
                          const at::Tensor &attentionMask, const GenerationOptions &options,
                          const TokenCallback &onToken, bool keepPromptLogits)
{
    if (ids.dim() != 2 || ids.size(1) == 0)
        throw Error(QStringLiteral("generation needs at least one prompt token"));
    const int64_t batch = ids.size(0);
    const std::optional<int64_t> modelEos = model.eosId();
    const int64_t pad = options.padId.value_or(modelEos.value_or(0));
    std::vector<int64_t> eos = options.eosIds;
    if (eos.empty() && modelEos)
        eos.push_back(*modelEos);
    Sampler sampler(options.sampling);
    KVCache cache(model.numLayers());
    KVCache *kv = options.useKvCache ? &cache : nullptr;
    // Room for the prompt and the maxNewTokens - 1 tokens fed back (the last is only sampled),
    // but never more than growing would take at the prompt: a large maxNewTokens that EOS cuts
    // short must not hold memory for tokens never made.
    const int64_t fedBack = std::max(options.maxNewTokens - 1, 0);
    cache.reserve(std::min(ids.size(1) + fedBack, KVCache::grownCapacity(ids.size(1))));

    at::Tensor mask = attentionMask.defined() ? attentionMask.to(at::kLong) : at::ones_like(ids);
    at::Tensor sequence = ids;
    at::Tensor stepIds = ids;
    std::vector<bool> finished(size_t(batch), false);
    GenerationResult result;
    result.newIds.resize(size_t(batch));

    for (int step = 0; step < options.maxNewTokens; ++step) {
        DecoderInput input;
        const at::Tensor positions = positionsFromMask(mask);
        input.ids = kv ? stepIds : sequence;
        input.positions = positions.narrow(1, positions.size(1) - input.ids.size(1), input.ids.size(1));
        input.keyMask = mask.to(at::kBool);
        ForwardOptions forward;
        forward.lastLogitsOnly = !(step == 0 && keepPromptLogits);
        const DecoderOutput out = model.forward(stream, input, kv, forward);
        if (step == 0 && keepPromptLogits) {
            result.promptLogits = out.logits;
            result.promptHidden = out.hidden;
        }
        at::Tensor next = sampler.next(out.logits.select(1, out.logits.size(1) - 1));
        std::vector<int64_t> tokens(size_t(batch), -1);
        bool allDone = true;
        for (int64_t b = 0; b < batch; ++b) {
            if (finished[size_t(b)]) {
                next[b] = pad;
                continue;
            }
            const int64_t id = next[b].item<int64_t>();
            tokens[size_t(b)] = id;
            result.newIds[size_t(b)].push_back(id);
            if (options.stopAtEos && std::find(eos.begin(), eos.end(), id) != eos.end())
                finished[size_t(b)] = true;
            allDone = allDone && finished[size_t(b)];
        }
        stepIds = next.view({batch, 1});
        sequence = at::cat({sequence, stepIds}, 1);
        mask = at::cat({mask, at::ones({batch, 1}, at::kLong)}, 1);
        const bool goOn = !onToken || onToken(step, tokens);
        if (allDone || !goOn)
            break;
    }
    result.kvCacheBytes = cache.bytes();
    return result;
}

} // namespace surfing
