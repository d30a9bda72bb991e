// How one model family runs a prompt behind InferenceSession. The session owns the stream, the
// tokenizer, the signals and the stats; a runner owns its model and the family's way of turning
// prompt ids into tokens (decoders, T5) or an encoding (BERT). makeModelRunner() picks the runner
// from the one table in modelrunner.cpp, so the session never switches on families.
// Internal to core/inference (libtorch). docs/adding-a-family.md tells how to add one.
#pragma once

#include "format/modelconfig.h"
#include "inference/inferenceoptions.h"

#include <ATen/ATen.h>
#include <QVector>
#include <functional>
#include <map>
#include <memory>
#include <vector>

namespace surfing {

struct ChunkManifest;
class DecoderModel;
class Tokenizer;
class WeightStream;

// What a runner gets from the session for one run.
struct RunContext {
    WeightStream &stream;
    const InferenceOptions &options;
    const Tokenizer *tokenizer;             // null without tokenizer files
    InferenceResult &result;                // promptIds filled in; the runner adds its outputs
    std::map<QString, at::Tensor> &kept;    // tensors for dumpTensors() (options.keepTensors)
    std::function<bool(qint64)> acceptToken; // a generated token (emits it); false: stop
    qint64 startNs = 0;                     // timelineClockNs() when the run began
    std::vector<int64_t> eosIds = {};       // every end-of-sequence id (empty: the model's own)
};

class ModelRunner
{
public:
    virtual ~ModelRunner() = default;
    // True for models that generate tokens (the session then decodes them and counts steps).
    virtual bool generates() const = 0;
    // One forward pass on a single token, so that libtorch's first-call setup is paid up front.
    virtual void warmup(WeightStream &stream) = 0;
    // `prompt` is the text the ids came from, or null when the caller gave ids.
    virtual void run(RunContext &context, const QVector<qint64> &ids, const QString &prompt) = 0;
    // The decoder, for families that batch prompts (generateBatch); null for the others.
    virtual DecoderModel *decoder() { return nullptr; }
};

struct RunnerSetup {
    const ModelConfig &config;
    const ChunkManifest &manifest;
    WeightStream &stream;
    QString modelFilesDir;
};

// The runner for `setup.config.family`; throws surfing::Error for a family without one.
std::unique_ptr<ModelRunner> makeModelRunner(const RunnerSetup &setup);

// The runners of the table (one file each).
std::unique_ptr<ModelRunner> makeDecoderRunner(std::unique_ptr<DecoderModel> model);
std::unique_ptr<ModelRunner> makeBertRunner(const RunnerSetup &setup);
std::unique_ptr<ModelRunner> makeT5Runner(const RunnerSetup &setup);

} // namespace surfing
