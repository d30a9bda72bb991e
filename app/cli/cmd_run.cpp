// surfing-cli run: streams a model's layers from a weight server (or a local chunk directory)
// through the inference session and prints the generated text, the stats and the timeline.
#include "command.h"
#include "runbatch.h"
#include "signalwatch.h"
#include "torchcli.h"

#include "base/error.h"
#include "client/modelopener.h"
#include "client/remotechunksource.h"
#include "client/serverpool.h"
#include "inference/blasinfo.h"
#include "inference/inferencesession.h"

#include <QCoreApplication>
#include <QDir>
#include <QEventLoop>
#include <QFile>
#include <QJsonDocument>
#include <QScopeGuard>
#include <QTemporaryDir>
#include <cmath>
#include <QUrl>
#include <cstdio>
#include <exception>
#include <optional>
#include <thread>

namespace surfing::cli {
namespace {

struct RunArgs {
    QString server, local, prompt, token, dumpPath;
    std::optional<QVector<qint64>> ids;
    QString promptsFile; // batch mode: --prompts-file FILE --batch N
    int batch = 1;
    InferenceOptions options;
    qint64 cacheBytes = 0;
    int cacheChunks = 0;
    qint64 compressedCacheBytes = 0;
    int timeoutMs = 0; // 0: WeightClientOptions' defaults
    int peerTimeoutMs = -1; // < 0: WeightClientOptions' default
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
    a->server = p.values(QStringLiteral("server")).join(QLatin1Char(','));
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
    a->promptsFile = p.value(QStringLiteral("prompts-file"));
    if (!a->promptsFile.isEmpty() && (p.isSet(QStringLiteral("ids")) || p.isSet(QStringLiteral("prompt")) || !a->dumpPath.isEmpty())) {
        *error = QStringLiteral("--prompts-file takes the place of --prompt and --ids, and cannot --dump-tensors");
        return false;
    }
    if (p.isSet(QStringLiteral("batch")) && a->promptsFile.isEmpty()) {
        *error = QStringLiteral("--batch N needs --prompts-file FILE (one prompt per line)");
        return false;
    }
    if (p.isSet(QStringLiteral("batch"))) {
        bool ok = false;
        a->batch = p.value(QStringLiteral("batch")).toInt(&ok);
        if (!ok || a->batch < 1 || a->batch > 1024) {
            *error = QStringLiteral("--batch must be a whole number in [1, 1024], got '%1'").arg(p.value(QStringLiteral("batch")));
            return false;
        }
    }
    if (!a->promptsFile.isEmpty()) {
        // prompts come from the file
    } else if (p.isSet(QStringLiteral("ids"))) {
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
        *error = QStringLiteral("--prompt TEXT (or --ids 1,2,3, or --prompts-file FILE) is required");
        return false;
    }
    if (p.isSet(QStringLiteral("cache-layers")) && p.isSet(QStringLiteral("cache-mb"))) {
        *error = QStringLiteral("give --cache-layers or --cache-mb, not both");
        return false;
    }
    // --prefetch auto (the default) keeps up to 2 on their way, or none, whichever measures faster.
    const bool adaptivePrefetch = p.value(QStringLiteral("prefetch")).trimmed() == QLatin1String("auto");
    double maxTokens = 64, temperature = 0, topK = 0, topP = 1, seed = 0, layers = 0, mb = 0,
           prefetch = InferenceOptions().prefetchDepth, threads = 0, timeout = 0, peerTimeout = -1, compressedMb = 0;
    if (!number(p, "max-tokens", 0, 1e6, &maxTokens, error) || !number(p, "temperature", 0, 100, &temperature, error)
        || !number(p, "top-k", 0, 1e7, &topK, error) || !number(p, "top-p", 1e-9, 1, &topP, error)
        || !number(p, "seed", 0, 9e15, &seed, error) || !number(p, "cache-layers", 1, 1e6, &layers, error)
        || !number(p, "cache-mb", 1, 1e9, &mb, error)
        || !number(p, "threads", 1, 256, &threads, error) || !number(p, "timeout", 1, 86400, &timeout, error)
        || !number(p, "peer-timeout", 0, 3600, &peerTimeout, error)
        || !number(p, "compressed-cache-mb", 0, 1e9, &compressedMb, error))
        return false;
    if (!adaptivePrefetch && !number(p, "prefetch", 0, 64, &prefetch, error)) {
        error->append(QStringLiteral(", or auto"));
        return false;
    }
    a->timeoutMs = int(timeout * 1000);
    a->peerTimeoutMs = peerTimeout < 0 ? -1 : int(peerTimeout * 1000);
    a->options.maxNewTokens = int(maxTokens);
    a->options.temperature = temperature;
    a->options.topK = int(topK);
    a->options.topP = topP;
    a->options.seed = quint64(seed);
    if (prefetch != std::floor(prefetch)) {
        *error = QStringLiteral("--prefetch takes a whole number of chunks (0 = off) or auto");
        return false;
    }
    a->options.prefetchDepth = int(prefetch);
    a->options.adaptivePrefetch = adaptivePrefetch;
    if (threads != std::floor(threads)) {
        *error = QStringLiteral("--threads must be a whole number of threads (1 or more)");
        return false;
    }
    a->options.threads = int(threads);
    a->options.keepTensors = !a->dumpPath.isEmpty();
    a->options.stopStrings = p.values(QStringLiteral("stop"));
    a->cacheChunks = int(layers);
    a->cacheBytes = qint64(mb * 1024 * 1024);
    a->compressedCacheBytes = qint64(compressedMb * 1024 * 1024);
    return true;
}

QJsonObject cacheTiers(const FetchingChunkSource &source)
{
    const ClientCacheStats d = source.cache().stats();
    const CompressedCacheStats c = source.compressedCache().stats();
    return QJsonObject{
        {"decoded", QJsonObject{{"budget_bytes", double(source.cache().maxBytes())}, {"hits", double(d.hits)},
                                {"misses", double(d.misses)}, {"evictions", double(d.evictions)},
                                {"resident_bytes", double(d.residentBytes)}, {"resident_chunks", d.residentChunks}}},
        {"compressed", QJsonObject{{"budget_bytes", double(source.compressedCache().maxBytes())}, {"hits", double(c.hits)},
                                   {"misses", double(c.misses)}, {"insertions", double(c.insertions)},
                                   {"evictions", double(c.evictions)}, {"refused", double(c.refused)},
                                   {"resident_bytes", double(c.residentBytes)}, {"resident_chunks", c.residentChunks}}},
    };
}

// Retries and failovers of a remote run (they are the network's, not the session's stats).
QJsonObject networkStats(const RemoteChunkSource &remote)
{
    return QJsonObject{{"servers", remote.serverCount()}, {"servers_lost", double(remote.serversLost())},
                       {"reconnects", double(remote.reconnects())}, {"retries", double(remote.retries())},
                       {"failovers", double(remote.failovers())}};
}

// The warm-up on a thread of its own while this one's event loop runs, so Ctrl+C (SignalWatch)
// is heard and ends it (the chunk it waits for, then the session) instead of after the whole
// model arrived. False when it was cancelled; its errors are rethrown here.
bool warmUp(InferenceSession &session, const SignalWatch &interrupted)
{
    QEventLoop loop;
    std::exception_ptr failure;
    bool complete = false;
    std::thread worker([&] {
        try {
            complete = session.warmup();
        } catch (...) {
            failure = std::current_exception();
        }
        QMetaObject::invokeMethod(&loop, &QEventLoop::quit, Qt::QueuedConnection);
    });
    loop.exec();
    worker.join();
    if (failure && !interrupted.caught()) // interrupted, the wait for a chunk ends in an error
        std::rethrow_exception(failure);
    return complete;
}

void printTokensAndFinish(InferenceSession &session, const RunArgs &a, int *exitCode, const FetchingChunkSource &source)
{
    const auto *remote = dynamic_cast<const RemoteChunkSource *>(&source);
    QEventLoop loop;
    // Without a tokenizer the ids are the only output there is: print them as they come.
    const bool printIds = session.isDecoder() && !session.hasTokenizer();
    if (printIds && !a.json)
        printErr(session.tokenizerError().isEmpty()
                     ? QStringLiteral("surfing-cli run: the model has no tokenizer files (tokenizer.json, vocab.txt or "
                                      "vocab.json); printing the generated token ids")
                     : QStringLiteral("surfing-cli run: the tokenizer cannot be loaded (%1); printing the generated token ids")
                           .arg(session.tokenizerError()));
    bool first = true;
    QString streamed; // text held back as a possible stop string is printed at the end
    if (!a.json)
        QObject::connect(&session, &InferenceSession::tokenGenerated, &loop, [&first, &streamed, printIds](qint64 id, const QString &delta) {
            const QString out = printIds ? (first ? QString() : QStringLiteral(" ")) + QString::number(id) : delta;
            first = false;
            streamed += delta;
            std::fputs(out.toUtf8().constData(), stdout);
            std::fflush(stdout);
        });
    QObject::connect(&session, &InferenceSession::finished, &loop, [&](const InferenceResult &result) {
        if (a.json) {
            QJsonObject doc = result.toJson();
            if (remote)
                doc.insert(QLatin1String("network"), networkStats(*remote));
            doc.insert(QLatin1String("client_cache"), cacheTiers(source));
            printOut(QString::fromUtf8(QJsonDocument(doc).toJson(QJsonDocument::Compact)));
        } else {
            if (session.isDecoder())
                printOut(!printIds && result.text.startsWith(streamed) ? result.text.mid(streamed.size()) : QString());
            else
                printOut(result.text);
            printErr(QStringLiteral("stats: ") + result.stats.summary());
            if (remote && (remote->retries() > 0 || remote->failovers() > 0 || remote->serversLost() > 0))
                printErr(QStringLiteral("network: %1 server connections lost, %2 reconnects, %3 requests sent again, "
                                        "%4 moved to another server")
                             .arg(remote->serversLost()).arg(remote->reconnects()).arg(remote->retries()).arg(remote->failovers()));
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
    restartForFastBlasKernels(originalArguments());
    QCommandLineParser parser;
    parser.addOptions({
        {QStringLiteral("server"), QStringLiteral("Weight server URL, ws://HOST:PORT[/MODEL]. Several replicas of one model: "
                                                  "comma-separated or repeated; chunks are spread over them and a failing one's "
                                                  "requests go to the others."), QStringLiteral("URL")},
        {QStringLiteral("local"), QStringLiteral("Run from a chunk directory on this machine instead of a server."), QStringLiteral("CHUNKS_DIR")},
        {QStringLiteral("prompt"), QStringLiteral("The text to continue (BERT: to encode)."), QStringLiteral("TEXT")},
        {QStringLiteral("ids"), QStringLiteral("Token ids instead of --prompt (models without a tokenizer)."), QStringLiteral("1,2,3")},
        {QStringLiteral("max-tokens"), QStringLiteral("New tokens at most (default 64)."), QStringLiteral("N")},
        {QStringLiteral("temperature"), QStringLiteral("Sampling temperature; 0 = greedy (default)."), QStringLiteral("T")},
        {QStringLiteral("top-k"), QStringLiteral("Sample from the K most likely tokens (0 = off)."), QStringLiteral("K")},
        {QStringLiteral("top-p"), QStringLiteral("Nucleus sampling mass (1 = off)."), QStringLiteral("P")},
        {QStringLiteral("seed"), QStringLiteral("Random seed for sampling (default 0)."), QStringLiteral("S")},
        {QStringLiteral("stop"), QStringLiteral("Stop when the text contains STR (repeatable); the text ends before it. "
                                                "Generation also stops at the model's end-of-sequence tokens."), QStringLiteral("STR")},
        {QStringLiteral("cache-layers"), QStringLiteral("Client cache budget in chunks."), QStringLiteral("K")},
        {QStringLiteral("cache-mb"), QStringLiteral("Client cache budget in MiB."), QStringLiteral("M")},
        {QStringLiteral("compressed-cache-mb"), QStringLiteral("A second cache tier below it, in MiB (default 0 = off): keeps "
                                                               "chunks made with `chunk --compress` as received and decodes them "
                                                               "from there instead of fetching them again."), QStringLiteral("M")},
        {QStringLiteral("prefetch"),
         QStringLiteral("Chunks kept on their way ahead of the one computing, past those already cached: a number "
                        "(0 = off), or auto (the default): up to 2, or none when the steps measure faster without "
                        "(a fast link whose receiving takes the cores compute needs)."),
         QStringLiteral("D|auto"), QStringLiteral("auto")},
        {QStringLiteral("threads"), QStringLiteral("Compute threads (default: the cores of this machine, at most 2)."), QStringLiteral("N")},
        {QStringLiteral("prompts-file"), QStringLiteral("Batch mode: one prompt per line, or JSON lines {\"prompt\": TEXT} / {\"ids\": [1,2]}; "
                                                        "one line of output per prompt."), QStringLiteral("FILE")},
        {QStringLiteral("batch"), QStringLiteral("With --prompts-file: prompts generated together, each layer fetched once per step "
                                                 "for all of them (default 1). Greedy ids are those of each prompt alone."), QStringLiteral("N")},
        {QStringLiteral("json"), QStringLiteral("Print one JSON document with ids, text, stats and the timeline.")},
        {QStringLiteral("dump-tensors"), QStringLiteral("Write final hidden states (and logits) as safetensors."), QStringLiteral("FILE")},
        {QStringLiteral("token"), QStringLiteral("Access token the server was started with."), QStringLiteral("T")},
        {QStringLiteral("timeout"), QStringLiteral("Fail a fetch that makes no progress for this many seconds (default 30), "
                                                   "and connecting (TCP, TLS, upgrade, hello) after this long (default 10)."),
         QStringLiteral("SECONDS")},
        {QStringLiteral("peer-timeout"), QStringLiteral("Take a server that sends nothing for this many seconds while requests wait on it, "
                                                        "not even the answer to a ping sent halfway, for gone (a black-holed host): connect "
                                                        "again, and with several servers move its requests to the others (default 10, 0 = off). "
                                                        "A server that dies closes the connection, which is seen at once."),
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

    QVector<BatchPrompt> prompts;
    if (!a.promptsFile.isEmpty()) {
        try {
            prompts = readPromptsFile(a.promptsFile);
        } catch (const Error &e) {
            return usageError(e.message());
        }
    }

    ModelOpenOptions open;
    open.chunkDir = a.local;
    if (!a.server.isEmpty()) {
        const QList<QUrl> urls = parseServerList({a.server}, &error);
        if (urls.isEmpty())
            return usageError(QStringLiteral("--server: %1").arg(error));
        open.serverUrl = urls.constFirst();
        open.replicas = urls.mid(1);
    }
    open.token = a.token;
    open.clientName = QStringLiteral("surfing-cli %1").arg(QLatin1String(SURFING_VERSION));
    open.cacheBytes = a.cacheBytes;
    open.cacheChunks = a.cacheChunks;
    open.compressedCacheBytes = a.compressedCacheBytes;
    open.timeoutMs = a.timeoutMs;
    open.peerTimeoutMs = a.peerTimeoutMs;
    // Ctrl+C, SIGTERM, SIGHUP: the run stops after its current token and the command returns, so
    // the staging folder of a remote model's files is removed like on any other exit.
    InferenceSession *current = nullptr;
    FetchingChunkSource *warming = nullptr;
    const SignalWatch interrupted([&current, &warming](int) {
        if (current)
            current->cancel();
        if (warming) // the warm-up waits for one chunk at a time: minutes for a large one on a slow link
            warming->cancelWaits();
    });
    const auto stopIfInterrupted = [&interrupted]() -> std::optional<int> {
        QCoreApplication::processEvents(); // reads a signal that arrived while nothing listened
        if (!interrupted.caught())
            return std::nullopt;
        printErr(QStringLiteral("surfing-cli run: interrupted by %1").arg(SignalWatch::name(interrupted.caught())));
        return ExitFailure;
    };
    const OpenedModel opened = openModel(open);
    if (const auto code = stopIfInterrupted())
        return *code;
    std::shared_ptr<ChunkSource> source = opened.source;
    const QString filesDir = opened.filesDir;
    InferenceSession session(source, filesDir);
    current = &session;
    const auto forget = qScopeGuard([&current] { current = nullptr; });
    if (!a.ids && a.promptsFile.isEmpty() && !session.hasTokenizer() && !session.tokenizerError().isEmpty()) {
        printErr(QStringLiteral("surfing-cli run: error: the tokenizer of %1 cannot be loaded (%2), so a text prompt "
                                "cannot be encoded; give token ids with --ids 1,2,3")
                     .arg(a.local.isEmpty() ? QStringLiteral("the model on ") + a.server : a.local, session.tokenizerError()));
        return ExitFailure;
    }
    if (!a.ids && a.promptsFile.isEmpty() && !session.hasTokenizer()) {
        printErr(QStringLiteral("surfing-cli run: error: %1 has no tokenizer files (tokenizer.json, vocab.txt or vocab.json), "
                                "so a text prompt cannot be encoded; give token ids with --ids 1,2,3")
                     .arg(a.local.isEmpty() ? QStringLiteral("the model on ") + a.server : a.local));
        return ExitFailure;
    }
    session.setOptions(a.options);
    warming = opened.source.get();
    const bool warm = a.warmup && warmUp(session, interrupted);
    warming = nullptr;
    if (warm) {
        opened.source->cache().resetStats(); // the stats describe the timed run
        opened.source->compressedCache().resetStats();
    }
    if (const auto code = stopIfInterrupted())
        return *code;
    if (!prompts.isEmpty())
        return runPromptBatches(session, prompts, a.batch, a.json);
    int exitCode = ExitFailure;
    printTokensAndFinish(session, a, &exitCode, *opened.source);
    if (const auto code = stopIfInterrupted())
        return *code;
    return exitCode;
}

} // namespace

SURFING_CLI_COMMAND(run, "run", surfing::cli::kRunSummary, runCommand);

} // namespace surfing::cli
