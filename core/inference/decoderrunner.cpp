// Decoder-only models (GPT-2, the LLaMA family) behind InferenceSession: generation through the
// KV cache with one callback per token, or one forward pass for --max-tokens 0.
#include "inference/modelrunner.h"

#include "base/error.h"
#include "inference/decodermodel.h"
#include "inference/generation.h"

namespace surfing {
namespace {

class DecoderRunner : public ModelRunner
{
public:
    explicit DecoderRunner(std::unique_ptr<DecoderModel> model) : m_model(std::move(model)) {}

    bool generates() const override { return true; }
    DecoderModel *decoder() override { return m_model.get(); }

    void warmup(WeightStream &stream) override
    {
        m_model->forward(stream, DecoderModel::inputFor(at::zeros({1, 1}, at::kLong), nullptr), nullptr, {});
    }

    void run(RunContext &c, const QVector<qint64> &promptIds, const QString &) override
    {
        if (promptIds.isEmpty())
            throw Error(QStringLiteral("the prompt encodes to no tokens; give some text (or ids)"));
        const std::vector<int64_t> ids(promptIds.begin(), promptIds.end());
        const at::Tensor input = at::tensor(ids, at::kLong).view({1, -1});
        if (c.options.maxNewTokens > 0) {
            GenerationOptions gen;
            gen.maxNewTokens = c.options.maxNewTokens;
            gen.stopAtEos = c.options.stopAtEos;
            gen.eosIds = c.eosIds;
            gen.sampling = {c.options.temperature, c.options.topK, c.options.topP, c.options.seed};
            const auto onToken = [&c](int, const std::vector<int64_t> &tokens) { return c.acceptToken(tokens[0]); };
            const GenerationResult r = generate(*m_model, c.stream, input, {}, gen, onToken, c.options.keepTensors);
            keep(c, r.promptHidden, r.promptLogits);
            return;
        }
        ForwardOptions forward;
        forward.lastLogitsOnly = !c.options.keepTensors;
        const DecoderOutput out = m_model->forward(c.stream, DecoderModel::inputFor(input, nullptr), nullptr, forward);
        keep(c, out.hidden, out.logits);
    }

private:
    static void keep(RunContext &c, const at::Tensor &hidden, const at::Tensor &logits)
    {
        if (!c.options.keepTensors)
            return;
        c.kept[QStringLiteral("hidden_states")] = hidden.contiguous();
        c.kept[QStringLiteral("logits")] = logits.contiguous();
    }

    std::unique_ptr<DecoderModel> m_model;
};

} // namespace

std::unique_ptr<ModelRunner> makeDecoderRunner(std::unique_ptr<DecoderModel> model)
{
    return std::make_unique<DecoderRunner>(std::move(model));
}

} // namespace surfing
