#include "inference/inferencesession.h"

#include "base/error.h"
#include "chat/stopconditions.h"
#include "client/chunksource.h"
#include "client/chunkverifier.h"
#include "inference/blasinfo.h"
#include "inference/matvec.h"
#include "client/fetchingchunksource.h"
#include "format/modelconfig.h"
#include "format/safetensors.h"
#include "inference/bertmodel.h"
#include "inference/decodermodel.h"
#include "inference/generation.h"
#include "inference/t5session.h"
#include "inference/weightstream.h"
#include "tokenizer/tokenizer.h"

#include <ATen/Parallel.h>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QLoggingCategory>
#include <QMutex>
#include <QSaveFile>
#include <atomic>
#include <mutex>
#include <thread>

Q_LOGGING_CATEGORY(lcInference, "surfing.inference")

namespace surfing {
namespace {

void applyComputeThreads(int threads)
{
    at::set_num_threads(threads);
    setBlasThreads(threads);
}

// One inter-op thread: the rest of the machine stays free for the network thread, decoding and
// the GUI. Interop threads can only be set once per process; compute threads follow the options.
void configureTorchThreads()
{
    static std::once_flag once;
    std::call_once(once, [] {
        applyComputeThreads(defaultComputeThreads());
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

QJsonArray firstValues(const at::Tensor &t, int n)
{
    QJsonArray a;
    const at::Tensor flat = t.flatten();
    for (int64_t i = 0; i < std::min<int64_t>(n, flat.numel()); ++i)
        a.append(flat[i].item<double>());
    return a;
}

} // namespace

struct InferenceSession::Private {
    InferenceSession *q = nullptr;
    std::shared_ptr<ChunkSource> source;
    ModelConfig config;
    std::unique_ptr<Tokenizer> tokenizer;
    std::unique_ptr<DecoderModel> decoder;
    std::unique_ptr<T5Model> t5; // encoder-decoder: its own run (t5session.h)
    std::unique_ptr<BertModel> bert;
    std::unique_ptr<WeightStream> stream;
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
    InferenceResult runDecoder(const QVector<qint64> &ids);
    InferenceResult runT5(const QVector<qint64> &ids);
    InferenceResult runBert(const QVector<qint64> &ids, const QString &prompt);
    void checkContext(qsizetype promptTokens) const;
    // Shared by the runs: reset per-run state; take one generated token (emits its text delta,
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
    warnIfReferenceBlas();
    kernels::activePath(); // logs the kernel path once, next to the BLAS (run -v)
    d->q = this;
    d->source = std::move(source);
    verifyModelFilesIn(modelFilesDir, d->source->manifest());
    d->config = ModelConfig::load(modelFilesDir);
    if (d->config.family == ModelFamily::Bert) {
        d->bert = std::make_unique<BertModel>(d->config);
        d->bert->setPooler(d->source->manifest().find(QStringLiteral("pooler")) != nullptr);
    } else if (d->config.family != ModelFamily::T5) {
        d->decoder = makeDecoderModel(d->config);
    }
    const QDir dir(modelFilesDir);
    if (dir.exists(QStringLiteral("tokenizer.json")) || dir.exists(QStringLiteral("vocab.txt")) || dir.exists(QStringLiteral("vocab.json")))
        d->tokenizer = Tokenizer::load(modelFilesDir);
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
    if (d->config.family == ModelFamily::T5)
        d->t5 = std::make_unique<T5Model>(T5Config::fromJson(d->config.json, modelFilesDir + QStringLiteral("/config.json")),
                                          *d->stream);
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
    d->stream->setPrefetchDepth(options.prefetchDepth);
    applyComputeThreads(options.threads > 0 ? options.threads : defaultComputeThreads());
}

InferenceOptions InferenceSession::options() const { return d->options; }
QString InferenceSession::modelType() const { return d->config.modelType; }
bool InferenceSession::isDecoder() const { return d->decoder != nullptr || d->t5 != nullptr; }
bool InferenceSession::hasTokenizer() const { return d->tokenizer != nullptr; }
int InferenceSession::contextLength() const { return d->context.value_or(0); }
bool InferenceSession::isRunning() const { return d->running; }
void InferenceSession::cancel() { d->cancelled = true; }

QVector<qint64> InferenceSession::Private::encode(const QString &prompt) const
{
    if (!tokenizer)
        throw Error(QStringLiteral("the model has no tokenizer files (tokenizer.json, vocab.txt or vocab.json); "
                                   "give token ids instead of text"));
    return tokenizer->encode(prompt, options.addSpecialTokens).ids;
}

void InferenceSession::warmup()
{
    std::lock_guard lock(d->runMutex);
    at::NoGradGuard noGrad;
    d->recording = false;
    try {
        for (const ManifestChunk &chunk : d->source->manifest().chunks)
            d->source->acquire(chunk.name);
        const at::Tensor one = at::zeros({1, 1}, at::kLong);
        if (d->decoder)
            d->decoder->forward(*d->stream, DecoderModel::inputFor(one, nullptr), nullptr, {});
        else if (d->t5)
            d->t5->decode(one, d->t5->encode(one, {}));
        else
            d->bert->forward(*d->stream, one, {}, {});
    } catch (...) {
        d->recording = true;
        throw;
    }
    d->recording = true;
}

InferenceResult InferenceSession::run(const QString &prompt)
{
    const QVector<qint64> ids = d->encode(prompt);
    std::lock_guard lock(d->runMutex);
    if (d->t5)
        return d->runT5(ids);
    return d->decoder ? d->runDecoder(ids) : d->runBert(ids, prompt);
}

InferenceResult InferenceSession::runIds(const QVector<qint64> &promptIds)
{
    std::lock_guard lock(d->runMutex);
    if (d->t5)
        return d->runT5(promptIds);
    return d->decoder ? d->runDecoder(promptIds) : d->runBert(promptIds, QString());
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

InferenceResult InferenceSession::Private::runDecoder(const QVector<qint64> &promptIds)
{
    if (promptIds.isEmpty())
        throw Error(QStringLiteral("the prompt encodes to no tokens; give some text (or ids)"));
    at::NoGradGuard noGrad;
    qint64 start = 0;
    InferenceResult result = beginRun(promptIds, start);
    const int stepsBefore = stream->step();

    checkContext(promptIds.size());
    GenerationOptions gen;
    gen.maxNewTokens = options.maxNewTokens;
    gen.stopAtEos = options.stopAtEos;
    gen.eosIds = eosIds;
    gen.sampling = {options.temperature, options.topK, options.topP, options.seed};
    QString printed;
    const auto onToken = [&](int, const std::vector<int64_t> &tokens) {
        return acceptToken(tokens[0], result, printed, start);
    };
    const std::vector<int64_t> ids(promptIds.begin(), promptIds.end());
    if (options.maxNewTokens > 0) {
        const GenerationResult r = generate(*decoder, *stream, at::tensor(ids, at::kLong).view({1, -1}), {},
                                            gen, onToken, options.keepTensors);
        if (options.keepTensors) {
            kept[QStringLiteral("hidden_states")] = r.promptHidden.contiguous();
            kept[QStringLiteral("logits")] = r.promptLogits.contiguous();
        }
    } else {
        ForwardOptions forward;
        forward.lastLogitsOnly = !options.keepTensors;
        const DecoderOutput out = decoder->forward(*stream, DecoderModel::inputFor(at::tensor(ids, at::kLong).view({1, -1}), nullptr), nullptr, forward);
        if (options.keepTensors) {
            kept[QStringLiteral("hidden_states")] = out.hidden.contiguous();
            kept[QStringLiteral("logits")] = out.logits.contiguous();
        }
    }
    endGeneration(result, stepsBefore, start);
    return result;
}

InferenceResult InferenceSession::Private::runT5(const QVector<qint64> &promptIds)
{
    at::NoGradGuard noGrad;
    qint64 start = 0;
    InferenceResult result = beginRun(promptIds, start);
    const int stepsBefore = stream->step();
    QString printed;
    const T5SessionRun run = runT5Session(*t5, promptIds, options, [&](qint64 id) {
        return acceptToken(id, result, printed, start);
    });
    kept = run.tensors;
    endGeneration(result, stepsBefore, start);
    return result;
}

InferenceResult InferenceSession::Private::runBert(const QVector<qint64> &promptIds, const QString &prompt)
{
    at::NoGradGuard noGrad;
    qint64 start = 0;
    InferenceResult result = beginRun(promptIds, start);
    Encoding enc;
    if (tokenizer && !prompt.isNull())
        enc = tokenizer->encode(prompt, true);
    const std::vector<int64_t> ids(promptIds.begin(), promptIds.end());
    const at::Tensor input = at::tensor(ids, at::kLong).view({1, -1});
    at::Tensor types;
    if (enc.tokenTypeIds.size() == enc.ids.size() && !enc.ids.isEmpty())
        types = at::tensor(std::vector<int64_t>(enc.tokenTypeIds.begin(), enc.tokenTypeIds.end()), at::kLong).view({1, -1});
    const BertOutput out = bert->forward(*stream, input, types, {});
    result.stats.steps = 1;
    result.stats.timeToFirstTokenNs = timelineClockNs() - start;
    QJsonObject outputs{{"hidden_shape", QJsonArray{double(out.lastHidden.size(0)), double(out.lastHidden.size(1)), double(out.lastHidden.size(2))}},
                        {"hidden_first", firstValues(out.lastHidden[0][0], 8)},
                        {"hidden_norm", out.lastHidden.norm().item<double>()}};
    QString text = QStringLiteral("last_hidden_state [%1, %2, %3], norm %4")
                       .arg(out.lastHidden.size(0)).arg(out.lastHidden.size(1)).arg(out.lastHidden.size(2))
                       .arg(out.lastHidden.norm().item<double>(), 0, 'f', 4);
    if (out.pooled.defined()) {
        outputs.insert(QStringLiteral("pooled_first"), firstValues(out.pooled, 8));
        outputs.insert(QStringLiteral("pooled_norm"), out.pooled.norm().item<double>());
        QStringList head;
        for (const QJsonValue &v : firstValues(out.pooled, 8))
            head << QString::number(v.toDouble(), 'f', 4);
        text += QStringLiteral("; pooler_output norm %1, first values [%2]")
                    .arg(out.pooled.norm().item<double>(), 0, 'f', 4).arg(head.join(QStringLiteral(", ")));
    }
    result.outputs = outputs;
    result.text = text;
    if (options.keepTensors) {
        kept[QStringLiteral("last_hidden_state")] = out.lastHidden.contiguous();
        if (out.pooled.defined())
            kept[QStringLiteral("pooler_output")] = out.pooled.contiguous();
    }
    finishStats(result, start);
    return result;
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
    s.threads = at::get_num_threads();
    s.promptTokens = result.promptIds.size();
    for (const LayerEvent &e : timeline) {
        ++s.unitLookups;
        s.cacheHits += e.cacheHit ? 1 : 0;
        s.bytesFetched += e.bytes;
        s.fetchWaitNs += e.waitNs;
        s.computeNs += e.computeEndNs - e.computeStartNs;
    }
    if (dynamic_cast<FetchingChunkSource *>(source.get()))
        s.bytesFetched = arrivedBytes() - arrivedAtStart;
    result.timeline = timeline;
    qCDebug(lcInference).noquote() << s.summary();
}

qint64 InferenceSession::Private::arrivedBytes() const
{
    if (auto *fetching = dynamic_cast<FetchingChunkSource *>(source.get()))
        return fetching->cache().stats().insertedBytes;
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
