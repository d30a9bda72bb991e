// surfing-cli run: streams a model's layers from a weight server (or a local chunk directory)
// through the inference session and prints the generated text, the stats and the timeline.
#include "command.h"
#include "torchcli.h"

#include "base/error.h"
#include "client/modelopener.h"
#include "inference/inferencesession.h"

#include <QCoreApplication>
#include <QDir>
#include <QEventLoop>
#include <QFile>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <cmath>
#include <QUrl>
#include <cstdio>
#include <optional>

namespace surfing::cli {
namespace {

struct RunArgs {
    QString server, local, prompt, token, dumpPath;
    std::optional<QVector<qint64>> ids;
    InferenceOptions options;
    qint64 cacheBytes = 0;
    int cacheChunks = 0;
    int timeoutMs = 0; // 0: WeightClientOptions' defaults
    bool json = false;
    bool warmup = false;
};

bool number(const QCommandLineParser &p, const char *name, double min, double max, double *out, QString *error)
{
    if (!p.isSet(QLatin1String(name)))
        return true;
    bool ok = false;
    const double v = p.value(QLatin1String(name)).toDouble(&ok);
    if (!ok || v < min || v > max) {
        *error = QStringLiteral("--%1 must be a number in [%2, %3], got '%4'").arg(QLatin1String(name)).arg(min).arg(max).arg(p.value(QLatin1String(name)));
        return false;
    }
    *out = v;
    return true;
}

bool readArgs(const QCommandLineParser &p, RunArgs *a, QString *error)
{
    a->server = p.value(QStringLiteral("server"));
    a->local = p.value(QStringLiteral("local"));
    a->prompt = p.value(QStringLiteral("prompt"));
    a->token = p.value(QStringLiteral("token"));
    a->dumpPath = p.value(QStringLiteral("dump-tensors"));
    a->json = p.isSet(QStringLiteral("json"));
    a->warmup = p.isSet(QStringLiteral("warmup"));
    if (a->server.isEmpty() == a->local.isEmpty()) {
        *error = QStringLiteral("give exactly one of --server ws://HOST:PORT[/MODEL] or --local CHUNKS_DIR");
        return false;
    }
    if (p.isSet(QStringLiteral("ids"))) {
        QVector<qint64> ids;
        for (const QString &s : p.value(QStringLiteral("ids")).split(QLatin1Char(','), Qt::SkipEmptyParts)) {
            bool ok = false;
            ids.append(s.trimmed().toLongLong(&ok));
            if (!ok || ids.last() < 0) {
                *error = QStringLiteral("--ids takes comma-separated non-negative token ids, got '%1'").arg(s);
                return false;
            }
        }
        a->ids = ids;
    } else if (!p.isSet(QStringLiteral("prompt"))) {
        *error = QStringLiteral("--prompt TEXT (or --ids 1,2,3) is required");
        return false;
    }
    if (p.isSet(QStringLiteral("cache-layers")) && p.isSet(QStringLiteral("cache-mb"))) {
        *error = QStringLiteral("give --cache-layers or --cache-mb, not both");
        return false;
    }
    double maxTokens = 64, temperature = 0, topK = 0, topP = 1, seed = 0, layers = 0, mb = 0, prefetch = 2, threads = 0,
           timeout = 0;
    if (!number(p, "max-tokens", 0, 1e6, &maxTokens, error) || !number(p, "temperature", 0, 100, &temperature, error)
        || !number(p, "top-k", 0, 1e7, &topK, error) || !number(p, "top-p", 1e-9, 1, &topP, error)
        || !number(p, "seed", 0, 9e15, &seed, error) || !number(p, "cache-layers", 1, 1e6, &layers, error)
        || !number(p, "cache-mb", 1, 1e9, &mb, error) || !number(p, "prefetch", 0, 64, &prefetch, error)
        || !number(p, "threads", 1, 256, &threads, error) || !number(p, "timeout", 1, 86400, &timeout, error))
        return false;
    a->timeoutMs = int(timeout * 1000);
    a->options.maxNewTokens = int(maxTokens);
    a->options.temperature = temperature;
    a->options.topK = int(topK);
    a->options.topP = topP;
    a->options.seed = quint64(seed);
    a->options.prefetchDepth = int(prefetch);
    if (threads != std::floor(threads)) {
        *error = QStringLiteral("--threads must be a whole number of threads (1 or more)");
        return false;
    }
    a->options.threads = int(threads);
    a->options.keepTensors = !a->dumpPath.isEmpty();
    a->cacheChunks = int(layers);
    a->cacheBytes = qint64(mb * 1024 * 1024);
    return true;
}

void printTokensAndFinish(InferenceSession &session, const RunArgs &a, int *exitCode)
{
    QEventLoop loop;
    // Without a tokenizer the ids are the only output there is: print them as they come.
    const bool printIds = session.isDecoder() && !session.hasTokenizer();
    if (printIds && !a.json)
        printErr(QStringLiteral("surfing-cli run: the model has no tokenizer files (tokenizer.json, vocab.txt or "
                                "vocab.json); printing the generated token ids"));
    bool first = true;
    if (!a.json)
        QObject::connect(&session, &InferenceSession::tokenGenerated, &loop, [&first, printIds](qint64 id, const QString &delta) {
            const QString out = printIds ? (first ? QString() : QStringLiteral(" ")) + QString::number(id) : delta;
            first = false;
            std::fputs(out.toUtf8().constData(), stdout);
            std::fflush(stdout);
        });
    QObject::connect(&session, &InferenceSession::finished, &loop, [&](const InferenceResult &result) {
        if (a.json) {
            printOut(QString::fromUtf8(QJsonDocument(result.toJson()).toJson(QJsonDocument::Compact)));
        } else {
            if (session.isDecoder())
                printOut(QString());
            else
                printOut(result.text);
            printErr(QStringLiteral("stats: ") + result.stats.summary());
        }
        if (!a.dumpPath.isEmpty())
            session.dumpTensors(a.dumpPath);
        *exitCode = ExitSuccess;
        loop.quit();
    });
    QObject::connect(&session, &InferenceSession::failed, &loop, [&](const QString &message) {
        printErr(QStringLiteral("surfing-cli run: error: %1").arg(message));
        *exitCode = ExitFailure;
        loop.quit();
    });
    if (a.ids)
        session.startIds(*a.ids);
    else
        session.start(a.prompt);
    loop.exec();
}

int runCommand(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.addOptions({
        {QStringLiteral("server"), QStringLiteral("Weight server URL, ws://HOST:PORT[/MODEL]."), QStringLiteral("URL")},
        {QStringLiteral("local"), QStringLiteral("Run from a chunk directory on this machine instead of a server."), QStringLiteral("CHUNKS_DIR")},
        {QStringLiteral("prompt"), QStringLiteral("The text to continue (BERT: to encode)."), QStringLiteral("TEXT")},
        {QStringLiteral("ids"), QStringLiteral("Token ids instead of --prompt (models without a tokenizer)."), QStringLiteral("1,2,3")},
        {QStringLiteral("max-tokens"), QStringLiteral("New tokens at most (default 64)."), QStringLiteral("N")},
        {QStringLiteral("temperature"), QStringLiteral("Sampling temperature; 0 = greedy (default)."), QStringLiteral("T")},
        {QStringLiteral("top-k"), QStringLiteral("Sample from the K most likely tokens (0 = off)."), QStringLiteral("K")},
        {QStringLiteral("top-p"), QStringLiteral("Nucleus sampling mass (1 = off)."), QStringLiteral("P")},
        {QStringLiteral("seed"), QStringLiteral("Random seed for sampling (default 0)."), QStringLiteral("S")},
        {QStringLiteral("cache-layers"), QStringLiteral("Client cache budget in chunks."), QStringLiteral("K")},
        {QStringLiteral("cache-mb"), QStringLiteral("Client cache budget in MiB."), QStringLiteral("M")},
        {QStringLiteral("prefetch"), QStringLiteral("Chunks fetched ahead of the one computing (default 2, 0 = off)."), QStringLiteral("D")},
        {QStringLiteral("threads"), QStringLiteral("Compute threads (default: the cores of this machine, at most 2)."), QStringLiteral("N")},
        {QStringLiteral("json"), QStringLiteral("Print one JSON document with ids, text, stats and the timeline.")},
        {QStringLiteral("dump-tensors"), QStringLiteral("Write final hidden states (and logits) as safetensors."), QStringLiteral("FILE")},
        {QStringLiteral("token"), QStringLiteral("Access token the server was started with."), QStringLiteral("T")},
        {QStringLiteral("timeout"), QStringLiteral("Fail a fetch that makes no progress for this many seconds (default 30), "
                                                   "and connecting (TCP, TLS, upgrade, hello) after this long (default 10)."),
         QStringLiteral("SECONDS")},
        {QStringLiteral("warmup"), QStringLiteral("Fetch every chunk and run one token before the timed run.")},
    });
    const int parsed = parseArguments(parser, arguments,
        QStringLiteral("Run a model whose weights stream layer by layer from a weight server (or a local "
                       "chunk directory). Text goes to stdout, stats to stderr."));
    if (parsed >= 0)
        return parsed;
    RunArgs a;
    QString error;
    if (!readArgs(parser, &a, &error))
        return usageError(error);

    ModelOpenOptions open;
    open.chunkDir = a.local;
    if (!a.server.isEmpty()) {
        try {
            open.serverUrl = parseServerUrl(a.server);
        } catch (const Error &) {
            return usageError(QStringLiteral("--server must be a ws:// or wss:// URL, got '%1'").arg(a.server));
        }
    }
    open.token = a.token;
    open.clientName = QStringLiteral("surfing-cli %1").arg(QLatin1String(SURFING_VERSION));
    open.cacheBytes = a.cacheBytes;
    open.cacheChunks = a.cacheChunks;
    open.timeoutMs = a.timeoutMs;
    const OpenedModel opened = openModel(open);
    std::shared_ptr<ChunkSource> source = opened.source;
    const QString filesDir = opened.filesDir;
    InferenceSession session(source, filesDir);
    if (!a.ids && !session.hasTokenizer()) {
        printErr(QStringLiteral("surfing-cli run: error: %1 has no tokenizer files (tokenizer.json, vocab.txt or vocab.json), "
                                "so a text prompt cannot be encoded; give token ids with --ids 1,2,3")
                     .arg(a.local.isEmpty() ? QStringLiteral("the model on ") + a.server : a.local));
        return ExitFailure;
    }
    session.setOptions(a.options);
    if (a.warmup)
        session.warmup();
    int exitCode = ExitFailure;
    printTokensAndFinish(session, a, &exitCode);
    return exitCode;
}

} // namespace

SURFING_CLI_COMMAND(run, "run", surfing::cli::kRunSummary, runCommand);

} // namespace surfing::cli
