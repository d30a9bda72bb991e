#include "inference/batchgeneration.h"

#include "base/error.h"

#include <algorithm>

namespace surfing {

GenerationResult generateBatch(DecoderModel &model, WeightStream &stream,
                               const std::vector<std::vector<int64_t>> &prompts,
                               const GenerationOptions &options, const TokenCallback &onToken)
{
    if (prompts.empty())
        throw Error(QStringLiteral("a batch needs at least one prompt"));
    size_t longest = 0;
    for (size_t i = 0; i < prompts.size(); ++i) {
        if (prompts[i].empty())
            throw Error(QStringLiteral("prompt %1 of the batch encodes to no tokens").arg(i + 1));
        longest = std::max(longest, prompts[i].size());
    }
    const int64_t rows = int64_t(prompts.size()), width = int64_t(longest);
    const int64_t pad = options.padId.value_or(model.eosId().value_or(0));
    at::Tensor ids = at::full({rows, width}, pad, at::kLong);
    at::Tensor mask = at::zeros({rows, width}, at::kLong);
    for (int64_t r = 0; r < rows; ++r) {
        const std::vector<int64_t> &p = prompts[size_t(r)];
        const int64_t n = int64_t(p.size());
        ids[r].narrow(0, width - n, n).copy_(at::tensor(p, at::kLong));
        mask[r].narrow(0, width - n, n).fill_(1);
    }
    // No mask when nothing is padded: the same path as a single prompt.
    const bool padded = mask.min().item<int64_t>() == 0;
    return generate(model, stream, ids, padded ? mask : at::Tensor(), options, onToken);
}

} // namespace surfing
