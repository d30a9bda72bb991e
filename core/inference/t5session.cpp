#include "inference/t5session.h"

#include "base/error.h"
#include "inference/t5generator.h"

namespace surfing {

T5SessionRun runT5Session(T5Model &model, const QVector<qint64> &promptIds,
                          const InferenceOptions &options, const std::function<bool(qint64)> &onToken)
{
    if (promptIds.isEmpty())
        throw Error(QStringLiteral("the prompt encodes to no tokens; give some text (or ids)"));
    const std::vector<int64_t> ids(promptIds.begin(), promptIds.end());
    const at::Tensor input = at::tensor(ids, at::kLong).view({1, -1});
    T5SessionRun run;
    if (options.maxNewTokens == 0) {
        // Nothing to generate: one encoder pass and the decoder start step, for --dump-tensors.
        const T5EncoderOutput encoder = model.encode(input, {});
        const at::Tensor start = at::full({1, 1}, model.config().decoderStartTokenId, at::kLong);
        const at::Tensor logits = model.decode(start, encoder);
        run.decoderSteps = 1;
        if (options.keepTensors) {
            run.tensors[QStringLiteral("encoder_last_hidden_state")] = encoder.hidden.contiguous();
            run.tensors[QStringLiteral("logits")] = logits.contiguous();
        }
        return run;
    }
    T5GenerationOptions gen;
    gen.maxNewTokens = options.maxNewTokens;
    gen.stopAtEos = options.stopAtEos;
    gen.sampling = {options.temperature, options.topK, options.topP, options.seed};
    const T5GenerationResult result = T5Generator(model).generate(input, {}, gen, [&](int64_t, int64_t token) {
        run.newIds.append(token);
        return !onToken || onToken(token);
    });
    run.decoderSteps = result.steps;
    if (options.keepTensors) {
        run.tensors[QStringLiteral("encoder_last_hidden_state")] = result.encoder.hidden.contiguous();
        run.tensors[QStringLiteral("logits")] = result.firstLogits.unsqueeze(1).contiguous();
    }
    return run;
}

} // namespace surfing
