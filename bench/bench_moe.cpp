// Mixture-of-experts streaming benchmark: bytes moved per generated token for a Qwen3-MoE model
// against a dense LLaMA of the same total size (its MLP as large as all the experts together),
// both generated with random weights, chunked to bf16 and streamed from a chunk directory
// through the client cache at several cache budgets. The dense model needs every MLP byte for
// every token; the MoE model only the experts the router picks (top-k of n per layer), so the
// expected gain when the cache cannot hold the model is about n / k on the MLP bytes.
// Prints a markdown table; bench/run-moe.sh appends it to docs/benchmarks-moe.md.
#include "base/error.h"
#include "chunking/chunker.h"
#include "client/localchunksource.h"
#include "inference/inferencesession.h"
#include "modelgen/randommodel.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QLoggingCategory>
#include <QTemporaryDir>
#include <cstdio>

using namespace surfing;

namespace {

struct Row {
    QString model;
    double cacheFraction = 0;
    bool sampled = false;
    InferenceStats stats;
};

QString prepare(const RandomModelSpec &spec, const QString &work, const QString &name, qint64 *chunkBytes)
{
    const QString source = work + QLatin1Char('/') + name;
    const QString chunks = source + QStringLiteral(".chunks");
    if (!QFile::exists(chunks + QStringLiteral("/chunk_info.json"))) {
        writeRandomModel(spec, source);
        ChunkOptions options;
        options.convertTo = Dtype::BF16;
        Chunker(options).run(source, chunks);
        QDir(source).removeRecursively();
    }
    *chunkBytes = ChunkManifest::load(chunks).totalStoredBytes();
    return chunks;
}

// Greedy, or sampled at temperature 1 (seed 1): a random model's greedy output soon repeats one
// token, and with it the same experts, which flatters the cache; sampling varies the tokens.
InferenceStats measure(const QString &chunks, qint64 cacheBytes, int tokens, bool sampled)
{
    auto source = std::make_shared<LocalChunkSource>(chunks, cacheBytes, 0);
    InferenceSession session(source, chunks);
    InferenceOptions options;
    options.maxNewTokens = tokens;
    options.stopAtEos = false;
    options.prefetchDepth = 2;
    options.temperature = sampled ? 1.0 : 0.0;
    options.seed = 1;
    session.setOptions(options);
    return session.runIds({1, 17, 300, 42}).stats;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QLoggingCategory::setFilterRules(QStringLiteral("surfing.*.debug=false"));
    QCommandLineParser parser;
    parser.addOptions({{QStringLiteral("work"), QStringLiteral("Keep the generated models here."), QStringLiteral("DIR")},
                       {QStringLiteral("tokens"), QStringLiteral("New tokens per run (default 32)."), QStringLiteral("N")},
                       {QStringLiteral("experts"), QStringLiteral("Experts per layer (default 32)."), QStringLiteral("N")},
                       {QStringLiteral("top-k"), QStringLiteral("Experts per token (default 4)."), QStringLiteral("K")}});
    parser.addHelpOption();
    parser.process(app);
    QTemporaryDir temp;
    const QString work = parser.isSet(QStringLiteral("work")) ? parser.value(QStringLiteral("work")) : temp.path();
    const int tokens = parser.value(QStringLiteral("tokens")).toInt() > 0 ? parser.value(QStringLiteral("tokens")).toInt() : 32;
    try {
        RandomModelSpec moe;
        moe.layers = 4;
        moe.hidden = 256;
        moe.heads = 8;
        moe.kvHeads = 4;
        moe.vocab = 2048;
        moe.experts = parser.value(QStringLiteral("experts")).toInt() > 0 ? parser.value(QStringLiteral("experts")).toInt() : 32;
        moe.expertsPerToken = parser.value(QStringLiteral("top-k")).toInt() > 0 ? parser.value(QStringLiteral("top-k")).toInt() : 4;
        moe.moeIntermediate = 256;
        moe.seed = 7;
        RandomModelSpec dense = moe;
        dense.experts = 0;
        dense.intermediate = moe.experts * moe.moeIntermediate; // same MLP bytes as all experts
        qint64 moeBytes = 0, denseBytes = 0;
        const QString moeDir = prepare(moe, work, QStringLiteral("moe"), &moeBytes);
        const QString denseDir = prepare(dense, work, QStringLiteral("dense"), &denseBytes);

        QVector<Row> rows;
        for (bool sampled : {false, true}) {
            for (double fraction : {0.25, 0.5, 1.1}) {
                rows.append({QStringLiteral("dense"), fraction, sampled, measure(denseDir, qint64(denseBytes * fraction), tokens, sampled)});
                rows.append({QStringLiteral("qwen3_moe"), fraction, sampled, measure(moeDir, qint64(moeBytes * fraction), tokens, sampled)});
            }
        }
        std::printf("Models: %d layers, hidden %d, vocab %d, bf16 chunks. qwen3_moe: %d experts x moe_intermediate %d, "
                    "top-%d (%.1f MB); dense llama: intermediate %d (%.1f MB). %d new tokens after a 4-token prompt, "
                    "prefetch 2, greedy or sampled (temperature 1, seed 1); bytes counted as they arrive at the client cache.\n\n",
                    moe.layers, moe.hidden, moe.vocab, moe.experts, moe.moeIntermediate, moe.expertsPerToken, moeBytes / 1e6,
                    dense.intermediate, denseBytes / 1e6, tokens);
        std::printf("| model | decoding | client cache | MB fetched | MB per token | experts run per token | experts fetched per token | tokens/s |\n");
        std::printf("|---|---|---:|---:|---:|---:|---:|---:|\n");
        for (const Row &r : rows) {
            const InferenceStats &s = r.stats;
            const bool dense = r.model == QLatin1String("dense");
            std::printf("| %s | %s | %s | %.2f | %.3f | %s | %s | %.1f |\n", qPrintable(r.model), r.sampled ? "sampled" : "greedy",
                        r.cacheFraction > 1 ? "whole model" : qPrintable(QStringLiteral("%1 %").arg(r.cacheFraction * 100)),
                        s.bytesFetched / 1e6, s.bytesFetched / 1e6 / qMax(1, s.newTokens),
                        dense ? "-" : qPrintable(QString::number(double(s.expertLookups) / qMax(1, s.newTokens), 'f', 2)),
                        dense ? "-" : qPrintable(QString::number(double(s.expertsFetched) / qMax(1, s.newTokens), 'f', 2)),
                        s.tokensPerSecond());
        }
    } catch (const std::exception &e) {
        std::fprintf(stderr, "bench_moe: %s\n", e.what());
        return 1;
    }
    return 0;
}
