// surfing-cli chunk MODEL -o OUT: cut a Hugging Face model (folder or cached hub name) into per-layer chunks.
#include "command.h"
#include "progressbar.h"

#include "chunking/chunker.h"
#include "format/hubcache.h"

#include <QThread>
#include <csignal>

namespace surfing::cli {
namespace {

Chunker *g_runningChunker = nullptr;

void cancelOnSignal(int)
{
    if (g_runningChunker)
        g_runningChunker->cancel(); // an atomic store: safe in a signal handler
}

std::optional<ChunkOptions> parseOptions(const QCommandLineParser &parser, QString *error)
{
    ChunkOptions options;
    options.compress = parser.isSet(QStringLiteral("compress"));
    options.replaceExisting = parser.isSet(QStringLiteral("force"));
    options.sync = parser.isSet(QStringLiteral("sync"));
    options.modelName = parser.value(QStringLiteral("name"));
    bool ok = true;
    options.level = parser.value(QStringLiteral("level")).toInt(&ok);
    if (!ok || options.level < 1 || options.level > 19) {
        *error = QStringLiteral("--level must be between 1 and 19");
        return std::nullopt;
    }
    if (parser.isSet(QStringLiteral("level")) && !options.compress) {
        *error = QStringLiteral("--level only applies with --compress");
        return std::nullopt;
    }
    options.threads = parser.value(QStringLiteral("threads")).toInt(&ok);
    if (!ok || options.threads < 1 || options.threads > 64) {
        *error = QStringLiteral("--threads must be between 1 and 64");
        return std::nullopt;
    }
    const QString dtype = parser.value(QStringLiteral("dtype")).toLower();
    if (dtype == QLatin1String("f16"))
        options.convertTo = Dtype::F16;
    else if (dtype == QLatin1String("bf16"))
        options.convertTo = Dtype::BF16;
    else if (dtype != QLatin1String("f32") && dtype != QLatin1String("original")) {
        *error = QStringLiteral("--dtype must be f32, f16 or bf16 (got '%1')").arg(dtype);
        return std::nullopt;
    }
    if (parser.isSet(QStringLiteral("quantize"))) {
        options.quantize = quant::quantTypeFromName(parser.value(QStringLiteral("quantize")));
        if (!options.quantize) {
            *error = QStringLiteral("--quantize must be q8_0 or q4_0 (got '%1')").arg(parser.value(QStringLiteral("quantize")));
            return std::nullopt;
        }
    }
    return options;
}

int runChunk(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.addPositionalArgument(QStringLiteral("MODEL"), QStringLiteral("A Hugging Face model directory (config.json + model.safetensors, sharded safetensors or pytorch_model.bin), "
                                                                   "or a hub name ORG/NAME[@REVISION] already in the local Hugging Face cache ($HF_HUB_CACHE, "
                                                                   "$HF_HOME/hub or ~/.cache/huggingface/hub; nothing is downloaded). A local path wins over a hub name."));
    parser.addOptions({
        {{QStringLiteral("o"), QStringLiteral("output")}, QStringLiteral("Where to write the chunk directory (must not exist unless --force)."), QStringLiteral("OUT")},
        {QStringLiteral("compress"), QStringLiteral("Compress chunks losslessly with zstd and byte grouping.")},
        {QStringLiteral("level"), QStringLiteral("zstd level 1..19 with --compress (default 3)."), QStringLiteral("N"), QStringLiteral("3")},
        {QStringLiteral("dtype"), QStringLiteral("Store float32 weights as f16 or bf16 (lossy; default: keep f32)."), QStringLiteral("f32|f16|bf16"), QStringLiteral("f32")},
        {QStringLiteral("quantize"), QStringLiteral("Store 2-D weight matrices (linear layers and embeddings) in GGUF's Q8_0 or Q4_0 blocks (lossy; 1-D tensors such as norms and biases are kept; see docs/chunk-format.md)."), QStringLiteral("q8_0|q4_0")},
        {QStringLiteral("force"), QStringLiteral("Replace OUT if it is an earlier chunk output, an empty folder or a link (atomically: the old one stays until the new one is complete). Never replaces other folders or one that holds the model.")},
        {QStringLiteral("sync"), QStringLiteral("fsync every file before OUT appears, so it also survives a power cut (slower; like cp, the default only guarantees that a failed or killed run leaves nothing behind).")},
        {QStringLiteral("name"), QStringLiteral("Model name recorded in the manifest (default: the model folder's name, NAME for a hub name)."), QStringLiteral("NAME")},
        {QStringLiteral("threads"), QStringLiteral("Chunks written in parallel (default: CPU cores)."), QStringLiteral("N"), QString::number(qMax(1, QThread::idealThreadCount()))},
    });
    const int parsed = parseArguments(parser, arguments,
        QStringLiteral("Cut a Hugging Face model into per-layer chunks that 'surfing-cli serve' can stream.\n"
                       "Example: surfing-cli chunk ./bert-tiny -o ./bert-tiny-chunks --compress\n"
                       "         surfing-cli chunk Qwen/Qwen3-0.6B -o ./qwen3-chunks   (from the local Hugging Face cache)"));
    if (parsed >= 0)
        return parsed;
    if (parser.positionalArguments().size() != 1)
        return usageError(QStringLiteral("chunk needs exactly one MODEL (a folder or a cached hub name)"));
    if (!parser.isSet(QStringLiteral("output")))
        return usageError(QStringLiteral("chunk needs an output directory: -o OUT"));
    QString error;
    const auto options = parseOptions(parser, &error);
    if (!options)
        return usageError(error);

    Chunker chunker(*options);
    ProgressBar bar(QStringLiteral("chunking"));
    chunker.setProgressCallback([&bar](const ChunkProgress &p) {
        bar.update(p.bytesDone, p.bytesTotal, QStringLiteral("%1/%2 %3").arg(p.chunksDone).arg(p.chunksTotal).arg(p.lastChunk));
    });
    g_runningChunker = &chunker;
    std::signal(SIGINT, cancelOnSignal);
    std::signal(SIGTERM, cancelOnSignal);
    const QString model = resolveModelLocation(parser.positionalArguments().first());
    const ChunkManifest manifest = chunker.run(model, parser.value(QStringLiteral("output")));
    g_runningChunker = nullptr;
    printOut(QStringLiteral("%1: %2 chunks of %3 (%4 model, %5 layers), %6 stored for %7 of tensors")
                 .arg(parser.value(QStringLiteral("output"))).arg(manifest.chunks.size())
                 .arg(manifest.modelName, manifest.modelType).arg(manifest.numLayers)
                 .arg(formatBytes(manifest.totalStoredBytes()), formatBytes(manifest.totalRawBytes())));
    return ExitSuccess;
}

} // namespace

SURFING_CLI_COMMAND(chunk, "chunk", "Cut a Hugging Face model into per-layer chunks.", runChunk);

} // namespace surfing::cli
