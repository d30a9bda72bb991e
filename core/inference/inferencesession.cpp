#include "inference/inferencesession.h"

#include "base/error.h"
#include "chat/stopconditions.h"
#include "client/chunksource.h"
#include "client/chunkverifier.h"
#include "inference/blasinfo.h"
#include "inference/matvec.h"
#include "inference/computethreads.h"
#include "client/fetchingchunksource.h"
#include "format/modelconfig.h"
#include "inference/architectures.h"
#include "format/safetensors.h"
#include "inference/modelrunner.h"
#include "inference/tensormemory.h"
#include "inference/batchgeneration.h"
#include "inference/weightstream.h"
#include "tokenizer/tokenizer.h"

#include <ATen/Parallel.h>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QLoggingCategory>
#include <QScopeGuard>
#include <QMutex>
#include <QSaveFile>
#include <atomic>
#include <mutex>
#include <thread>

Q_LOGGING_CATEGORY(lcInference, "surfing.inference")

namespace surfing {
namespace {

// One inter-op thread: the rest of the machine stays free for the network thread, decoding and
// the GUI. Interop threads can only be set once per process; compute threads follow the options.
void configureTorchThreads()
{
    static std::once_flag once;
    std::call_once(once, [] {
        setComputeThreads(defaultComputeThreads());
        try {
            at::set_num_interop_threads(1);
        } catch (const std::exception &) {
        }
    });
}

TensorView viewOf(const QString &name, const at::Tensor &t)
{
    return {name, Dtype::F32, QVector<qint64>(t.sizes().begin(), t.sizes().end()),
            QByteArrayView(static_cast<const char *>(t.data_ptr()), qsizetype(t.nbytes()))};
}

} // namespace

struct InferenceSession::Private {
    InferenceSession *q = nullptr;
    std::shared_ptr<ChunkSource> source;
    ModelConfig config;
    std::unique_ptr<Tokenizer> tokenizer;
    QString tokenizerError; // tokenizer files there but not loadable: ids still work
    std::unique_ptr<WeightStream> stream;
    std::unique_ptr<ModelRunner> runner; // the family's (modelrunner.h)
    InferenceOptions options;
    QVector<LayerEvent> timeline;
    bool recording = true;
    std::map<QString, at::Tensor> kept; // for dumpTensors()
    std::thread worker;
    std::atomic_bool cancelled{false};
    std::atomic_bool running{false};
    std::mutex runMutex; // one run at a time
    std::vector<int64_t> eosIds;  // config.json, generation_config.json and the tokenizer's EOS
    std::optional<int> context;   // positions the model holds
    StopStrings stops;
    bool stoppedByString = false;

    QVector<qint64> encode(const QString &prompt) const;
    // `prompt` is null when the caller gave ids.
    InferenceResult runOnce(const QVector<qint64> &ids, const QString &prompt);
    void checkContext(qsizetype promptTokens) const;
    // Around the runner: reset per-run state; take one generated token (emits its text delta,
    // false once cancelled); fill the result's text and counts at the end.
    InferenceResult beginRun(const QVector<qint64> &promptIds, qint64 &start);
    bool acceptToken(qint64 id, InferenceResult &result, QString &printed, qint64 start);
    void endGeneration(InferenceResult &result, int stepsBefore, qint64 start);
    void finishStats(InferenceResult &result, qint64 startNs) const;
    // Bytes that arrived at the source so far: a prefetched chunk is a cache hit with no bytes on
    // the timeline, but it was still moved.
    qint64 arrivedBytes() const;
    qint64 arrivedAtStart = 0;
    void joinWorker();
};

InferenceSession::InferenceSession(std::shared_ptr<ChunkSource> source, const QString &modelFilesDir, QObject *parent)
    : QObject(parent), d(std::make_unique<Private>())
{
    qRegisterMetaType<LayerEvent>();
    qRegisterMetaType<InferenceResult>();
    configureTorchThreads();
    useUnsplitTensorMemory();
    warnIfReferenceBlas();
    kernels::activePath(); // logs the kernel path once, next to the BLAS (run -v)
    d->q = this;
    d->source = std::move(source);
    verifyModelFilesIn(modelFilesDir, d->source->manifest());
    d->config = ModelConfig::load(modelFilesDir);
    const QDir dir(modelFilesDir);
    if (dir.exists(QStringLiteral("tokenizer.json")) || dir.exists(QStringLiteral("vocab.txt")) || dir.exists(QStringLiteral("vocab.json"))) {
        try {
            d->tokenizer = Tokenizer::load(modelFilesDir);
        } catch (const Error &e) {
            // The weights do not need it: runs from token ids go on, text prompts get this error.
            d->tokenizerError = QString::fromUtf8(e.what());
            qCWarning(lcInference).noquote() << "tokenizer not loaded:" << d->tokenizerError;
        }
    }
    for (qint64 id : eosTokenIds(modelFilesDir, d->tokenizer ? d->tokenizer->eosId() : std::nullopt))
        d->eosIds.push_back(id);
    d->context = surfing::contextLength(d->config.json);
    d->stream = std::make_unique<WeightStream>(*d->source, d->options.prefetchDepth);
    d->stream->setEventSink([this](const LayerEvent &event) {
        if (!d->recording)
            return;
        d->timeline.append(event);
        Q_EMIT layerEventRecorded(event);
    });
    d->runner = makeModelRunner({d->config, d->source->manifest(), *d->stream, modelFilesDir});
}

InferenceSession::~InferenceSession()
{
    d->cancelled = true;
    d->joinWorker();
}

void InferenceSession::setOptions(const InferenceOptions &options)
{
    std::lock_guard lock(d->runMutex);
    d->options = options;
    d->stops = StopStrings(options.stopStrings);
    d->stream->setPrefetchDepth(options.prefetchDepth, options.adaptivePrefetch);
    setComputeThreads(options.threads > 0 ? options.threads : defaultComputeThreads());
}

InferenceOptions InferenceSession::options() const { return d->options; }
QString InferenceSession::modelType() const { return d->config.modelType; }
bool InferenceSession::isDecoder() const { return d->runner->generates(); }
bool InferenceSession::hasTokenizer() const { return d->tokenizer != nullptr; }
int InferenceSession::contextLength() const { return d->context.value_or(0); }
QString InferenceSession::tokenizerError() const { return d->tokenizerError; }
bool InferenceSession::isRunning() const { return d->running; }
void InferenceSession::cancel() { d->cancelled = true; }

QVector<qint64> InferenceSession::Private::encode(const QString &prompt) const
{
    if (!tokenizer && !tokenizerError.isEmpty())
        throw Error(QStringLiteral("the tokenizer cannot be loaded (%1); give token ids instead of text").arg(tokenizerError));
    if (!tokenizer)
        throw Error(QStringLiteral("the model has no tokenizer files (tokenizer.json, vocab.txt or vocab.json); "
                                   "give token ids instead of text"));
    return tokenizer->encode(prompt, options.addSpecialTokens).ids;
}

bool InferenceSession::warmup()
{
    std::lock_guard lock(d->runMutex);
    at::NoGradGuard noGrad;
    d->recording = false;
    const auto record = qScopeGuard([this] { d->recording = true; });
    // Over a slow link a model takes minutes to arrive: a cancel (Ctrl+C) counts at every unit.
    for (const ManifestChunk &chunk : d->source->manifest().chunks) {
        if (d->cancelled)
            return false;
        d->source->acquire(chunk.name);
    }
    if (d->cancelled)
        return false;
    d->runner->warmup(*d->stream);
    return true;
}

InferenceResult InferenceSession::run(const QString &prompt)
{
    const QVector<qint64> ids = d->encode(prompt);
    std::lock_guard lock(d->runMutex);
    return d->runOnce(ids, prompt);
}

QVector<qint64> InferenceSession::encode(const QString &prompt) const
{
    return d->encode(prompt);
}

InferenceSession::BatchResult InferenceSession::runBatch(const QVector<QVector<qint64>> &prompts)
{
    std::lock_guard lock(d->runMutex);
    DecoderModel *decoder = d->runner ? d->runner->decoder() : nullptr;
    if (!decoder)
        throw Error(QStringLiteral("batch mode runs decoder models (GPT-2, LLaMA family); this is a %1 model").arg(d->config.modelType));
    at::NoGradGuard noGrad;
    std::vector<std::vector<int64_t>> rows;
    for (const QVector<qint64> &p : prompts)
        rows.emplace_back(p.begin(), p.end());
    qint64 start = 0;
    InferenceResult all = d->beginRun({}, start);
    const int stepsBefore = d->stream->step();
    GenerationOptions gen;
    gen.maxNewTokens = d->options.maxNewTokens;
    gen.stopAtEos = d->options.stopAtEos;
    gen.eosIds = d->eosIds;
    gen.sampling = {d->options.temperature, d->options.topK, d->options.topP, d->options.seed};
    const auto onToken = [&](int step, const std::vector<int64_t> &) {
        if (step == 0)
            all.stats.timeToFirstTokenNs = timelineClockNs() - start;
        return !d->cancelled.load();
    };
    const GenerationResult r = d->options.maxNewTokens > 0 ? generateBatch(*decoder, *d->stream, rows, gen, onToken)
                                                           : GenerationResult{};
    BatchResult batch;
    for (int i = 0; i < prompts.size(); ++i) {
        InferenceResult one;
        one.modelType = d->config.modelType;
        one.promptIds = prompts[i];
        if (size_t(i) < r.newIds.size())
            one.newIds = QVector<qint64>(r.newIds[size_t(i)].begin(), r.newIds[size_t(i)].end());
        one.text = d->tokenizer ? d->tokenizer->decode(one.newIds, true) : QString();
        one.stats.promptTokens = one.promptIds.size();
        one.stats.newTokens = one.newIds.size();
        all.stats.newTokens += one.newIds.size();
        all.promptIds += prompts[i];
        batch.results.append(one);
    }
    all.stats.steps = d->stream->step() - stepsBefore;
    all.stats.batch = prompts.size();
    const int newTokens = all.stats.newTokens;
    const qint64 firstToken = all.stats.timeToFirstTokenNs;
    d->finishStats(all, start);
    all.stats.newTokens = newTokens;
    all.stats.timeToFirstTokenNs = firstToken;
    batch.stats = all.stats;
    batch.timeline = std::move(all.timeline);
    return batch;
}

InferenceResult InferenceSession::runIds(const QVector<qint64> &promptIds)
{
    std::lock_guard lock(d->runMutex);
    return d->runOnce(promptIds, QString());
}

InferenceResult InferenceSession::Private::runOnce(const QVector<qint64> &ids, const QString &prompt)
{
    at::NoGradGuard noGrad;
    qint64 start = 0;
    InferenceResult result = beginRun(ids, start);
    const int stepsBefore = stream->step();
    QString printed;
    RunContext context{*stream, options, tokenizer.get(), result, kept,
                       [&](qint64 id) { return acceptToken(id, result, printed, start); }, start};
    context.eosIds = eosIds;
    if (runner->decoder())
        checkContext(ids.size());
    runner->run(context, ids, prompt);
    if (runner->generates())
        endGeneration(result, stepsBefore, start);
    else
        finishStats(result, start);
    return result;
}

InferenceResult InferenceSession::Private::beginRun(const QVector<qint64> &promptIds, qint64 &start)
{
    cancelled = false;
    stoppedByString = false;
    timeline.clear();
    kept.clear();
    arrivedAtStart = arrivedBytes();
    start = timelineClockNs();
    InferenceResult result;
    result.modelType = config.modelType;
    result.promptIds = promptIds;
    return result;
}

bool InferenceSession::Private::acceptToken(qint64 id, InferenceResult &result, QString &printed, qint64 start)
{
    if (result.newIds.isEmpty())
        result.stats.timeToFirstTokenNs = timelineClockNs() - start;
    result.newIds.append(id);
    QString delta;
    if (tokenizer) {
        QString full = tokenizer->decode(result.newIds, true);
        while (full.endsWith(QChar(0xFFFD))) // an incomplete UTF-8 sequence: wait for its bytes
            full.chop(1);
        // Text that is, or may become, a stop string is not shown.
        const qsizetype stopAt = stops.find(full);
        stoppedByString = stopAt >= 0;
        full.truncate(stoppedByString ? stopAt : full.size() - stops.heldBack(full));
        if (full.startsWith(printed))
            delta = full.mid(printed.size());
        printed = full;
    }
    Q_EMIT q->tokenGenerated(id, delta);
    return !cancelled.load() && !stoppedByString;
}

void InferenceSession::Private::endGeneration(InferenceResult &result, int stepsBefore, qint64 start)
{
    result.text = tokenizer ? tokenizer->decode(result.newIds, true) : QString();
    const qsizetype stopAt = stops.find(result.text);
    if (stopAt >= 0)
        result.text.truncate(stopAt);
    const bool endedByEos = !result.newIds.isEmpty() && options.stopAtEos
        && std::find(eosIds.begin(), eosIds.end(), result.newIds.last()) != eosIds.end();
    result.stopReason = stoppedByString ? QStringLiteral("stop_string")
        : endedByEos                    ? QStringLiteral("eos")
        : cancelled                     ? QStringLiteral("cancelled")
                                        : QStringLiteral("max_tokens");
    result.stats.steps = stream->step() - stepsBefore;
    result.stats.newTokens = result.newIds.size();
    finishStats(result, start);
}

// A prompt and reply longer than the model's positions is refused up front, with the numbers,
// rather than failing midway (GPT-2) or running past what the model was trained for (RoPE).
void InferenceSession::Private::checkContext(qsizetype promptTokens) const
{
    if (!context)
        return;
    if (promptTokens >= *context)
        throw Error(QStringLiteral("the prompt is %1 tokens, but this model holds %2 positions (config.json); "
                                   "shorten the prompt or start a new conversation").arg(promptTokens).arg(*context));
    if (promptTokens + options.maxNewTokens > *context)
        throw Error(QStringLiteral("the prompt (%1 tokens) plus max new tokens (%2) is more than the %3 positions this "
                                   "model holds (config.json); ask for at most %4 new tokens")
                        .arg(promptTokens).arg(options.maxNewTokens).arg(*context).arg(*context - promptTokens));
}

void InferenceSession::Private::finishStats(InferenceResult &result, qint64 startNs) const
{
    InferenceStats &s = result.stats;
    s.totalNs = timelineClockNs() - startNs;
    s.threads = computeThreads();
    s.prefetchDepth = stream->prefetchDepth();
    s.prefetchAdaptive = stream->isPrefetchAdaptive();
    s.promptTokens = result.promptIds.size();
    for (const LayerEvent &e : timeline) {
        ++s.unitLookups;
        s.cacheHits += e.cacheHit ? 1 : 0;
        s.bytesFetched += e.bytes;
        if (e.step > timeline.first().step)
            s.decodeBytesFetched += e.bytes;
        s.fetchWaitNs += e.waitNs;
        s.computeNs += e.computeEndNs - e.computeStartNs;
        if (unitnames::isExpert(e.unit)) {
            ++s.expertLookups;
            s.expertsFetched += e.bytes > 0 ? 1 : 0;
            s.expertBytesFetched += e.bytes;
        }
    }
    if (dynamic_cast<FetchingChunkSource *>(source.get()))
        s.bytesFetched = arrivedBytes() - arrivedAtStart;
    result.timeline = timeline;
    qCDebug(lcInference).noquote() << s.summary();
}

qint64 InferenceSession::Private::arrivedBytes() const
{
    if (auto *fetching = dynamic_cast<FetchingChunkSource *>(source.get()))
        return fetching->storedBytesArrived();
    return 0;
}

void InferenceSession::dumpTensors(const QString &path) const
{
    if (d->kept.empty())
        throw Error(QStringLiteral("no tensors to dump: run with keepTensors set first"));
    QVector<TensorView> views;
    for (const auto &[name, tensor] : d->kept)
        views.append(viewOf(name, tensor));
    const QByteArray bytes = serializeSafetensors(views, {{QStringLiteral("format"), QStringLiteral("pt")}});
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size() || !f.commit())
        throw Error(QStringLiteral("cannot write %1: %2").arg(path, f.errorString()));
}

void InferenceSession::Private::joinWorker()
{
    if (worker.joinable())
        worker.join();
}

void InferenceSession::start(const QString &prompt)
{
    d->joinWorker();
    d->running = true;
    d->worker = std::thread([this, prompt] {
        try {
            const InferenceResult result = run(prompt);
            d->running = false;
            Q_EMIT finished(result);
        } catch (const std::exception &e) {
            d->running = false;
            Q_EMIT failed(QString::fromUtf8(e.what()));
        }
    });
}

void InferenceSession::startIds(const QVector<qint64> &promptIds)
{
    d->joinWorker();
    d->running = true;
    d->worker = std::thread([this, promptIds] {
        try {
            const InferenceResult result = runIds(promptIds);
            d->running = false;
            Q_EMIT finished(result);
        } catch (const std::exception &e) {
            d->running = false;
            Q_EMIT failed(QString::fromUtf8(e.what()));
        }
    });
}

} // namespace surfing
