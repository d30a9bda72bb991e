#include "chunking/chunker.h"

#include "base/error.h"
#include "base/files.h"
#include "base/sha256.h"
#include "chunking/chunkplanner.h"
#include "chunking/outputfile.h"
#include "chunking/stagingdir.h"
#include "format/checkpoint.h"
#include "format/dtypeconvert.h"
#include "format/hubcache.h"
#include "format/safetensors.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>
#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

Q_LOGGING_CATEGORY(lcChunker, "surfing.chunker")

namespace surfing {
namespace {

// Read, hashed, written and reported at once: small enough to stay in a core's cache.
constexpr qint64 kStep = 1024 * 1024;
// Tokenizer files of large vocabularies are tens of MiB; nothing beside the weights is bigger.
constexpr qint64 kMaxCompanionBytes = 512 * 1024 * 1024;

// Shared by the worker threads of one run.
struct RunState {
    const Checkpoint &checkpoint;
    const ChunkOptions &options;
    const StagingDir &staging;
    std::atomic_bool &cancelled;
    Chunker::ProgressCallback progressCallback;
    std::mutex mutex;
    ChunkProgress progress;
    std::exception_ptr firstError;
    QString outputMatrix; // "unit/key" of the LM head's matrix (quantizedType() says why)

    void checkCancelled() const
    {
        if (cancelled)
            throw Error(QStringLiteral("cancelled"));
    }
    void addProgress(qint64 bytes, const QString &finishedChunk = {})
    {
        std::lock_guard lock(mutex);
        progress.bytesDone += bytes;
        if (!finishedChunk.isEmpty()) {
            ++progress.chunksDone;
            progress.lastChunk = finishedChunk;
        }
        if (progressCallback)
            progressCallback(progress);
    }
};

// The tensors of one chunk as they will be written; converted copies are owned here.
struct ChunkTensors {
    QVector<TensorView> views;
    QVector<Checkpoint::FileSpan> spans; // per view; offset -1 when only in memory
    std::deque<QByteArray> converted;
    QVector<ManifestTensor> manifest;
};

// The LM head's matrix of a decoder: `lm_head`, or the token embedding it is tied to. Empty for
// encoders (BERT has no LM head here).
QString outputMatrix(ModelFamily family, const ChunkPlan &plan)
{
    const bool untied = std::any_of(plan.chunks.begin(), plan.chunks.end(),
                                    [](const PlannedChunk &c) { return c.name == QLatin1String("lm_head"); });
    if (untied)
        return QStringLiteral("lm_head/weight");
    switch (family) {
    case ModelFamily::Llama: return QStringLiteral("embed_tokens/weight");
    case ModelFamily::T5: return QStringLiteral("shared_embeddings/weight");
    default: return {};
    }
}

// --quantize q4_0 stores the LM head's matrix in Q8_0, as llama.cpp's Q4_0 does (it picks Q6_K,
// or Q8_0 when rows are not whole 256-value super-blocks; Surfing has no Q6_K): every logit
// comes from it, and on stories260K pure Q4_0 raised the held-out perplexity by 10.9 % where
// this mix raised it by 8 % (docs/benchmarks-quant.md).
quant::QuantType quantizedType(const RunState &run, const PlannedChunk &plan, const PlannedTensor &t)
{
    const bool output = plan.name + QLatin1Char('/') + t.key == run.outputMatrix;
    return output && *run.options.quantize == quant::QuantType::Q4_0 ? quant::QuantType::Q8_0 : *run.options.quantize;
}

ChunkTensors collectTensors(const PlannedChunk &plan, RunState &run)
{
    ChunkTensors out;
    for (const PlannedTensor &t : plan.tensors) {
        const TensorInfo &info = run.checkpoint.info(t.source);
        TensorView view{t.key, info.dtype, info.shape, run.checkpoint.data(t.source)};
        Checkpoint::FileSpan span = run.checkpoint.fileSpan(t.source);
        if (run.options.quantize && quant::isQuantizable(info.dtype, info.shape)) {
            const quant::QuantType type = quantizedType(run, plan, t);
            out.converted.push_back(quant::quantizeTensor(type, info.dtype, view.data));
            view.dtype = quant::dtypeOf(type);
            view.data = out.converted.back();
            span.offset = -1;
        } else if (run.options.convertTo && info.dtype == Dtype::F32) {
            out.converted.push_back(convertFloat32(view.data, *run.options.convertTo));
            view.dtype = *run.options.convertTo;
            view.data = out.converted.back();
            span.offset = -1;
        }
        out.views.append(view);
        out.spans.append(span);
        out.manifest.append({t.key, view.dtype, info.shape, t.source});
    }
    return out;
}

// Uncompressed chunks: tensor bytes that live in a source file are read into a small buffer,
// hashed while they are in the CPU's cache and written from there (outputfile.h says why);
// converted tensors are written from memory.
void writePlain(const ChunkTensors &tensors, const QMap<QString, QString> &metadata,
                ManifestChunk &chunk, OutputFile &file, RunState &run)
{
    Sha256 hash;
    const auto append = [&](QByteArrayView bytes) {
        hash.addData(bytes);
        file.write(bytes);
        run.addProgress(bytes.size());
    };
    const QByteArray prefix = safetensorsPrefix(tensors.views, metadata);
    hash.addData(prefix);
    file.write(prefix);
    qint64 total = prefix.size();
    std::map<QString, InputFile> sources;
    QByteArray buffer(kStep, Qt::Uninitialized);
    for (int i = 0; i < tensors.views.size(); ++i) {
        const QByteArrayView data = tensors.views[i].data;
        const Checkpoint::FileSpan &span = tensors.spans[i];
        const InputFile *source = span.offset < 0 ? nullptr : &sources.try_emplace(span.file, span.file).first->second;
        for (qint64 at = 0; at < data.size(); at += kStep) {
            run.checkCancelled();
            const qint64 size = qMin(kStep, data.size() - at);
            if (source) {
                source->readAt(span.offset + at, buffer.data(), size);
                append(QByteArrayView(buffer.constData(), size));
            } else {
                append(data.sliced(at, size));
            }
        }
        total += data.size();
    }
    chunk.storedBytes = chunk.rawBytes = total;
    chunk.sha256 = hash.resultHex();
}

void writeCompressed(const ChunkTensors &tensors, const QMap<QString, QString> &metadata,
                     ManifestChunk &chunk, OutputFile &file, RunState &run)
{
    const QByteArray raw = serializeSafetensors(tensors.views, metadata);
    run.checkCancelled();
    const QByteArray stored = encodeChunk(raw, ChunkCodec::ZstdByteGroup, run.options.level);
    file.write(stored);
    chunk.rawBytes = raw.size();
    chunk.storedBytes = stored.size();
    chunk.sha256 = Sha256::hashHex(stored);
    qint64 sourceBytes = 0;
    for (const TensorView &view : tensors.views)
        sourceBytes += view.data.size();
    run.addProgress(sourceBytes);
}

ManifestChunk writeChunk(const PlannedChunk &plan, RunState &run)
{
    ManifestChunk chunk;
    chunk.name = plan.name;
    chunk.kind = plan.kind;
    chunk.index = plan.index;
    chunk.codec = run.options.compress ? ChunkCodec::ZstdByteGroup : ChunkCodec::None;
    chunk.file = plan.name + codecFileSuffix(chunk.codec);

    const ChunkTensors tensors = collectTensors(plan, run);
    chunk.tensors = tensors.manifest;
    const QMap<QString, QString> metadata{{QStringLiteral("format"), QStringLiteral("pt")},
                                          {QStringLiteral("unit"), plan.name}};
    OutputFile file(run.staging.filePath(chunk.file));
    if (run.options.compress)
        writeCompressed(tensors, metadata, chunk, file, run);
    else
        writePlain(tensors, metadata, chunk, file, run);
    file.finish(run.options.sync);
    run.addProgress(0, plan.name);
    qCDebug(lcChunker) << "wrote" << chunk.file << chunk.storedBytes << "bytes";
    return chunk;
}

// Chunks are written by `threads` workers taking the next unwritten chunk; the first error stops all.
QVector<ManifestChunk> writeChunks(const QVector<PlannedChunk> &plans, RunState &run)
{
    QVector<ManifestChunk> chunks(plans.size());
    std::atomic_int next{0};
    auto worker = [&] {
        for (int i = next++; i < plans.size(); i = next++) {
            try {
                chunks[i] = writeChunk(plans[i], run);
            } catch (...) {
                std::lock_guard lock(run.mutex);
                if (!run.firstError)
                    run.firstError = std::current_exception();
                run.cancelled = true;
            }
        }
    };
    std::vector<std::thread> threads;
    for (int t = 1; t < qMax(1, run.options.threads); ++t)
        threads.emplace_back(worker);
    worker();
    for (std::thread &t : threads)
        t.join();
    if (run.firstError)
        std::rethrow_exception(run.firstError);
    return chunks;
}

QStringList presentCompanionFiles(const QString &modelDir)
{
    QStringList present;
    for (const QString &name : companionFileNames()) {
        if (pathEntryExists(modelDir + QLatin1Char('/') + name))
            present << name;
    }
    return present;
}

QVector<ManifestFile> copyCompanionFiles(const QString &modelDir, const StagingDir &staging, bool sync)
{
    QVector<ManifestFile> files;
    for (const QString &name : presentCompanionFiles(modelDir)) {
        const QByteArray bytes = readRegularFile(modelDir + QLatin1Char('/') + name, kMaxCompanionBytes);
        writeWholeFile(staging.filePath(name), bytes, sync);
        files.append({name, bytes.size(), Sha256::hashHex(bytes)});
    }
    return files;
}

bool isInside(const QString &path, const QString &directory)
{
    return path == directory || path.startsWith(directory.endsWith(QLatin1Char('/')) ? directory : directory + QLatin1Char('/'));
}

// A chunk directory made by this tool or by the Python tool: a chunk_info.json with "chunks".
bool looksLikeChunkOutput(const QString &dir)
{
    try {
        const QByteArray json = readRegularFile(dir + QLatin1Char('/') + QLatin1String(kManifestFileName), 64 << 20);
        return QJsonDocument::fromJson(json).object().value(QLatin1String("chunks")).isObject();
    } catch (const Error &) {
        return false;
    }
}

// OUT is replaced whole (--force), so it must hold nothing the run reads: not the model directory
// or any of its files, after resolving links. And a directory there must be an earlier chunk
// output (or empty): --force is no licence to delete an arbitrary folder. A link at OUT is
// replaced as a link (StagingDir::commit), so what it points to only has to pass the first check.
void refuseUnsafeOutput(const QString &outputDir, const QStringList &inputs, bool replaceExisting)
{
    if (!pathEntryExists(outputDir))
        return;
    if (!replaceExisting)
        throw Error(QStringLiteral("%1: already exists; choose another output or replace it (--force)").arg(outputDir));
    const QString target = QFileInfo(outputDir).canonicalFilePath();
    for (const QString &input : inputs) {
        const QString resolved = QFileInfo(input).canonicalFilePath();
        if (!target.isEmpty() && !resolved.isEmpty() && isInside(resolved, target))
            throw Error(QStringLiteral("%1: holds the model being chunked (%2); write the output outside the model directory")
                            .arg(outputDir, input));
    }
    const QDir dir(outputDir);
    const bool isRealDir = !isSymbolicLink(outputDir) && QFileInfo(outputDir).isDir();
    if (isRealDir && !dir.isEmpty(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot)
        && !looksLikeChunkOutput(outputDir))
        throw Error(QStringLiteral("%1: exists and is not a chunk directory (it has no chunk_info.json); --force only "
                                   "replaces the output of an earlier 'surfing-cli chunk'. Delete it yourself if you "
                                   "mean to, or choose another output").arg(outputDir));
}

// "original", "f16", "bf16", "q8_0", "q4_0"; "q4_0+f16" when the tensors left unquantized were converted.
QString manifestDtype(const ChunkOptions &options)
{
    const QString converted = options.convertTo ? dtypeName(*options.convertTo).toLower() : QString();
    if (!options.quantize)
        return converted.isEmpty() ? QStringLiteral("original") : converted;
    const QString quantized = quant::quantTypeName(*options.quantize);
    return converted.isEmpty() ? quantized : quantized + QLatin1Char('+') + converted;
}

} // namespace

const QStringList &companionFileNames()
{
    static const QStringList names{
        QStringLiteral("config.json"), QStringLiteral("generation_config.json"),
        QStringLiteral("tokenizer.json"), QStringLiteral("tokenizer_config.json"),
        QStringLiteral("special_tokens_map.json"), QStringLiteral("added_tokens.json"),
        QStringLiteral("vocab.txt"), QStringLiteral("vocab.json"), QStringLiteral("merges.txt"),
        QStringLiteral("tokenizer.model"), QStringLiteral("chat_template.jinja")};
    return names;
}

Chunker::Chunker(ChunkOptions options) : m_options(std::move(options)) {}

ChunkManifest Chunker::run(const QString &modelPath, const QString &outputDir)
{
    const QFileInfo pathInfo(modelPath);
    const QString modelDir = pathInfo.isDir() ? pathInfo.absoluteFilePath() : pathInfo.absolutePath();
    const ModelConfig config = ModelConfig::load(modelDir);
    const auto checkpoint = Checkpoint::open(modelPath);
    if (m_options.quantize && config.family == ModelFamily::Gpt2)
        throw Error(QStringLiteral("%1: --quantize does not support gpt2 models yet: their Conv1D weights are stored "
                                   "[in, out], and blocks run along the rows of [out, in] matrices").arg(modelDir));
    const ChunkPlan plan = planChunks(config, *checkpoint);
    QStringList inputs = QStringList{modelDir} + checkpoint->sourceFiles();
    for (const QString &name : presentCompanionFiles(modelDir))
        inputs << modelDir + QLatin1Char('/') + name;
    refuseUnsafeOutput(outputDir, inputs, m_options.replaceExisting);

    StagingDir staging(outputDir);
    RunState run{*checkpoint, m_options, staging, m_cancelled, m_progress, {}, {}, {}, outputMatrix(config.family, plan)};
    run.progress.bytesTotal = checkpoint->totalBytes();
    run.progress.chunksTotal = plan.chunks.size();

    ChunkManifest manifest;
    manifest.modelName = m_options.modelName.isEmpty() ? modelNameOfDir(modelDir) : m_options.modelName;
    manifest.modelType = config.modelType;
    manifest.family = config.family;
    manifest.numLayers = config.numLayers;
    manifest.numDecoderLayers = config.numDecoderLayers;
    manifest.dtype = manifestDtype(m_options);
    manifest.codec = m_options.compress ? ChunkCodec::ZstdByteGroup : ChunkCodec::None;
    manifest.level = m_options.compress ? m_options.level : 0;
    manifest.createdBy = QStringLiteral("surfing %1").arg(QLatin1String(SURFING_VERSION));
    manifest.chunks = writeChunks(plan.chunks, run);
    manifest.files = copyCompanionFiles(modelDir, staging, m_options.sync);
    run.checkCancelled();
    writeWholeFile(staging.filePath(QLatin1String(kManifestFileName)), manifest.toJson(), m_options.sync);
    staging.commit(m_options.replaceExisting, m_options.sync);
    return manifest;
}

} // namespace surfing
