#include "inference/modelrunner.h"

#include "base/error.h"
#include "inference/gpt2model.h"
#include "inference/llamamodel.h"

namespace surfing {
namespace {

// The one table of families and how to run them. A decoder-only family names its model (the
// generic decoder runner drives it); others name their own runner.
struct RunnerEntry {
    ModelFamily family;
    std::unique_ptr<DecoderModel> (*decoder)(const ModelConfig &);
    std::unique_ptr<ModelRunner> (*runner)(const RunnerSetup &);
};

template <typename Model>
std::unique_ptr<DecoderModel> decoder(const ModelConfig &config)
{
    return std::make_unique<Model>(config);
}

constexpr RunnerEntry kRunners[] = {
    {ModelFamily::Bert, nullptr, makeBertRunner},
    {ModelFamily::Gpt2, decoder<Gpt2Model>, nullptr},
    {ModelFamily::Llama, decoder<LlamaModel>, nullptr},
    {ModelFamily::T5, nullptr, makeT5Runner},
};

const RunnerEntry *entryOf(ModelFamily family)
{
    for (const RunnerEntry &e : kRunners) {
        if (e.family == family)
            return &e;
    }
    return nullptr;
}

} // namespace

std::unique_ptr<DecoderModel> makeDecoderModel(const ModelConfig &config)
{
    const RunnerEntry *entry = entryOf(config.family);
    if (!entry || !entry->decoder)
        throw Error(QStringLiteral("model type '%1' is not a decoder-only model").arg(config.modelType));
    return entry->decoder(config);
}

std::unique_ptr<ModelRunner> makeModelRunner(const RunnerSetup &setup)
{
    const RunnerEntry *entry = entryOf(setup.config.family);
    if (!entry)
        throw Error(QStringLiteral("model type '%1' has no runner").arg(setup.config.modelType));
    return entry->decoder ? makeDecoderRunner(entry->decoder(setup.config)) : entry->runner(setup);
}

} // namespace surfing
