// Inference benchmark: generation streamed from a real `surfing-cli serve` process over loopback
// against the same model held fully in memory, measured in the same run and interleaved rep by
// rep so that load from other processes hits both alike. Prints markdown tables;
// bench/run-inference.sh appends them to docs/benchmarks-inference.md.
//
//   a  whole model cached (warm): in memory (baseline) vs --local vs streamed, 2 and 1 threads
//   b  half the chunks cached: prefetch 0 / 1 / 2
//   c  server paced with --limit-mbps so fetching a chunk takes about as long as computing it
//      (a long prompt, one forward pass): prefetch 0 vs 2
//   m  (not in the default set) peak client-cache bytes and RSS per unit under --cache-mb
#include "base/error.h"
#include "client/localchunksource.h"
#include "client/modelopener.h"
#include "inference/computethreads.h"
#include "inference/inferencesession.h"

#include <ATen/Parallel.h>

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFile>
#include <QLoggingCategory>
#include <QProcess>
#include <algorithm>
#include <cstdio>
#include <functional>

using namespace surfing;

namespace {

struct Args {
    QString cli, dir, name;
    QVector<qint64> ids;
    int tokens = 16;
    int reps = 3;
    QString scenarios = QStringLiteral("abc");
    int throttlePrompt = 128;
    double throttleMbps = 0; // 0: from the measured compute time
    int cacheMb = 256;       // m
};

// The baseline: every chunk decoded once into memory, acquire() is a hash lookup. No cache
// policy, no lock, no fetch path.
class MemoryChunkSource : public ChunkSource
{
public:
    explicit MemoryChunkSource(const QString &dir) : m_local(dir)
    {
        for (const ManifestChunk &c : m_local.manifest().chunks)
            m_bytes.insert(c.name, m_local.acquire(c.name));
    }
    const ChunkManifest &manifest() const override { return m_local.manifest(); }
    bool prefetch(const QString &) override { return false; } // everything is in memory
    std::shared_ptr<const QByteArray> acquire(const QString &name, ChunkFetch *fetch) override
    {
        const auto it = m_bytes.constFind(name);
        if (it == m_bytes.constEnd())
            throw Error(QStringLiteral("no chunk '%1'").arg(name));
        if (fetch)
            *fetch = ChunkFetch{true, 0, 0, 0, 0};
        return *it;
    }

private:
    LocalChunkSource m_local;
    QHash<QString, std::shared_ptr<const QByteArray>> m_bytes;
};

class Server
{
public:
    Server(const QString &cli, const QString &dir, double limitMbps)
    {
        QStringList args{QStringLiteral("serve"), dir, QStringLiteral("--host"), QStringLiteral("127.0.0.1"),
                         QStringLiteral("--port"), QStringLiteral("0"), QStringLiteral("--cache-mb"), QStringLiteral("4096")};
        if (limitMbps > 0)
            args << QStringLiteral("--limit-mbps") << QString::number(limitMbps);
        m_process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        m_process.start(cli, args);
        QByteArray line;
        while (!line.contains('\n') && m_process.waitForReadyRead(60000))
            line += m_process.readAllStandardOutput();
        url = QUrl(QString::fromUtf8(line.trimmed()));
        if (!url.isValid() || url.scheme() != QLatin1String("ws"))
            throw Error(QStringLiteral("surfing-cli serve did not print its URL (got '%1')").arg(QString::fromUtf8(line)));
    }
    ~Server()
    {
        m_process.terminate();
        if (!m_process.waitForFinished(10000))
            m_process.kill();
    }
    QUrl url;

private:
    QProcess m_process;
};

// Through the same entry the app and `surfing-cli run` use (the files are fetched, as theirs).
std::shared_ptr<FetchingChunkSource> openSource(const QString &dir, const QUrl &url, int cacheChunks, qint64 cacheBytes = 0)
{
    ModelOpenOptions o;
    o.chunkDir = url.isEmpty() ? dir : QString();
    o.serverUrl = url;
    o.clientName = QStringLiteral("bench_inference");
    o.cacheChunks = cacheChunks;
    o.cacheBytes = cacheBytes;
    return openModel(o).source;
}

std::shared_ptr<ChunkSource> remoteSource(const QUrl &url, int cacheChunks)
{
    return openSource(QString(), url, cacheChunks);
}

// One configuration: a session, what to set before each run, and the stats of every rep.
struct Config {
    QString label;
    std::shared_ptr<ChunkSource> source;
    std::shared_ptr<InferenceSession> session;
    int threads = 2;
    QVector<InferenceStats> runs;
};

Config makeConfig(const QString &label, std::shared_ptr<ChunkSource> source, const QString &dir, int prefetch,
                  int tokens, int threads)
{
    Config c;
    c.label = label;
    c.source = std::move(source);
    c.session = std::make_shared<InferenceSession>(c.source, dir);
    InferenceOptions o;
    o.maxNewTokens = tokens;
    o.stopAtEos = false;
    o.prefetchDepth = prefetch;
    c.session->setOptions(o);
    c.threads = threads;
    return c;
}

double median(QVector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.isEmpty() ? 0.0 : (v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2);
}

double medianOf(const Config &c, const std::function<double(const InferenceStats &)> &f)
{
    QVector<double> v;
    for (const InferenceStats &s : c.runs)
        v.append(f(s));
    return median(v);
}

// One untimed run per configuration, then `reps` rounds that visit every configuration once.
void measure(QVector<Config> &configs, const QVector<qint64> &ids, int reps, bool warmup)
{
    for (Config &c : configs) {
        setComputeThreads(c.threads);
        if (warmup)
            c.session->warmup();
        c.session->runIds(ids);
    }
    // Each round starts at the next configuration, so none always runs right after a switch.
    for (int r = 0; r < reps; ++r)
        for (int k = 0; k < configs.size(); ++k) {
            Config &c = configs[(r + k) % configs.size()];
            setComputeThreads(c.threads);
            c.runs.append(c.session->runIds(ids).stats);
        }
}

void printTable(const QVector<Config> &configs, bool ratio)
{
    std::printf("| configuration | threads | tokens/s | decode tokens/s |%s waited for weights ms | compute ms | total ms | cache_hit_rate | MB fetched |\n",
                ratio ? " vs in memory |" : "");
    std::printf("|---|---:|---:|---:|%s---:|---:|---:|---:|---:|\n", ratio ? "---:|" : "");
    for (const Config &c : configs) {
        const double tps = medianOf(c, [](const InferenceStats &s) { return s.tokensPerSecond(); });
        QString vs;
        if (ratio) {
            const auto base = std::find_if(configs.begin(), configs.end(), [&](const Config &b) {
                return b.threads == c.threads && b.label.startsWith(QLatin1String("in memory"));
            });
            vs = QStringLiteral(" %1x |").arg(tps / medianOf(*base, [](const InferenceStats &s) { return s.tokensPerSecond(); }), 0, 'f', 3);
        }
        std::printf("| %s | %d | %.2f | %.2f |%s %.1f | %.1f | %.1f | %.3f | %.1f |\n", qPrintable(c.label), c.threads, tps,
                    medianOf(c, [](const InferenceStats &s) { return s.decodeTokensPerSecond(); }), qPrintable(vs),
                    medianOf(c, [](const InferenceStats &s) { return s.fetchWaitNs / 1e6; }),
                    medianOf(c, [](const InferenceStats &s) { return s.computeNs / 1e6; }),
                    medianOf(c, [](const InferenceStats &s) { return s.totalNs / 1e6; }),
                    medianOf(c, [](const InferenceStats &s) { return s.cacheHitRate(); }),
                    medianOf(c, [](const InferenceStats &s) { return s.bytesFetched / 1e6; }));
    }
    std::printf("\n");
    std::fflush(stdout);
}

void scenarioWarm(const Args &a, const Server &server)
{
    std::printf("### a. Whole model cached, warm: streamed vs in memory (%s, %d new tokens, median of %d)\n\n",
                qPrintable(a.name), a.tokens, a.reps);
    QVector<Config> all;
    for (int threads : {2, 1}) { // one thread count at a time: switching costs the next run
        QVector<Config> configs;
        configs.append(makeConfig(QStringLiteral("in memory (baseline)"), std::make_shared<MemoryChunkSource>(a.dir), a.dir, 0, a.tokens, threads));
        configs.append(makeConfig(QStringLiteral("--local, unlimited cache"), openSource(a.dir, QUrl(), 0), a.dir, 2, a.tokens, threads));
        configs.append(makeConfig(QStringLiteral("streamed from serve, unlimited cache"), remoteSource(server.url, 0), a.dir, 2, a.tokens, threads));
        measure(configs, a.ids, a.reps, true);
        for (Config &c : configs)
            all.append(std::move(c));
    }
    printTable(all, true);
}

void scenarioHalf(const Args &a, const Server &server, int chunks)
{
    const int budget = (chunks + 1) / 2;
    std::printf("### b. Half the chunks cached (%d of %d), streamed from serve: prefetch off vs on (%s, %d new tokens, median of %d)\n\n",
                budget, chunks, qPrintable(a.name), a.tokens, a.reps);
    QVector<Config> configs;
    for (int depth : {0, 1, 2})
        configs.append(makeConfig(QStringLiteral("prefetch %1").arg(depth), remoteSource(server.url, budget), a.dir, depth, a.tokens, 2));
    measure(configs, a.ids, a.reps, false);
    printTable(configs, false);
}

void scenarioThrottled(const Args &a, int chunks, qint64 modelBytes)
{
    QVector<qint64> prompt;
    for (int i = 0; i < a.throttlePrompt; ++i)
        prompt.append(a.ids[i % a.ids.size()]);
    double mbps = a.throttleMbps;
    if (mbps <= 0) {
        // Pace the server so one chunk takes as long to arrive as the same forward pass spends
        // computing one chunk in memory.
        QVector<Config> probe;
        probe.append(makeConfig(QStringLiteral("in memory"), std::make_shared<MemoryChunkSource>(a.dir), a.dir, 0, 1, 2));
        measure(probe, prompt, 1, true);
        const double perChunkS = probe[0].runs[0].computeNs / 1e9 / chunks;
        mbps = double(modelBytes) / chunks * 8 / perChunkS / 1e6;
    }
    const Server server(a.cli, a.dir, mbps);
    const int budget = (chunks + 1) / 2;
    std::printf("### c. Server paced to %.0f Mbit/s (%.1f MB/s), %d of %d chunks cached: prefetch off vs on "
                "(%s, one forward pass over a %d-token prompt, median of %d)\n\n",
                mbps, mbps / 8, budget, chunks, qPrintable(a.name), a.throttlePrompt, a.reps);
    QVector<Config> configs;
    for (int depth : {0, 2})
        configs.append(makeConfig(QStringLiteral("prefetch %1").arg(depth), remoteSource(server.url, budget), a.dir, depth, 1, 2));
    measure(configs, prompt, a.reps, false);
    printTable(configs, false);
}

qint64 residentSetBytes()
{
    QFile f(QStringLiteral("/proc/self/status"));
    if (!f.open(QIODevice::ReadOnly))
        return 0;
    for (const QByteArray &line : f.readAll().split('\n'))
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').first().toLongLong() * 1024;
    return 0;
}

// m: where the memory of a budgeted streamed run is, sampled after every unit: the client
// cache's resident bytes and the process's RSS.
void scenarioMemory(const Args &a, const Server &server)
{
    for (int depth : {0, 1, 2}) {
        auto remote = openSource(QString(), server.url, 0, qint64(a.cacheMb) * 1024 * 1024);
        Config c = makeConfig(QStringLiteral("m"), remote, a.dir, depth, a.tokens, 2);
        qint64 peakCache = 0, peakRss = 0, rssAtPeakCache = 0;
        QObject::connect(c.session.get(), &InferenceSession::layerEventRecorded, c.session.get(), [&](const LayerEvent &) {
            const qint64 cache = remote->cache().stats().residentBytes, rss = residentSetBytes();
            if (cache > peakCache) {
                peakCache = cache;
                rssAtPeakCache = rss;
            }
            peakRss = std::max(peakRss, rss);
        }, Qt::DirectConnection);
        c.session->runIds(a.ids);
        std::printf("| %d | %d MiB | %.0f MiB | %.0f MiB | %.0f MiB |\n", depth, a.cacheMb, peakCache / 1048576.0,
                    rssAtPeakCache / 1048576.0, peakRss / 1048576.0);
        std::fflush(stdout);
    }
}

bool parse(const QStringList &arguments, Args *a)
{
    QCommandLineParser p;
    p.addOptions({{QStringLiteral("cli"), QStringLiteral("surfing-cli (for serve)."), QStringLiteral("PATH")},
                  {QStringLiteral("model"), QStringLiteral("Chunk directory."), QStringLiteral("DIR")},
                  {QStringLiteral("name"), QStringLiteral("Label for the tables."), QStringLiteral("NAME")},
                  {QStringLiteral("ids"), QStringLiteral("Prompt ids (default 1,5,9,300)."), QStringLiteral("IDS"), QStringLiteral("1,5,9,300")},
                  {QStringLiteral("tokens"), QStringLiteral("New tokens per run (default 16)."), QStringLiteral("N"), QStringLiteral("16")},
                  {QStringLiteral("reps"), QStringLiteral("Timed runs per configuration (default 3)."), QStringLiteral("N"), QStringLiteral("3")},
                  {QStringLiteral("scenarios"), QStringLiteral("Any of a, b, c (default abc)."), QStringLiteral("LIST"), QStringLiteral("abc")},
                  {QStringLiteral("throttle-prompt"), QStringLiteral("Prompt length for c (default 128)."), QStringLiteral("N"), QStringLiteral("128")},
                  {QStringLiteral("throttle-mbps"), QStringLiteral("Server pace for c (default: from the measured compute)."), QStringLiteral("MBPS")},
                  {QStringLiteral("cache-mb"), QStringLiteral("Client cache budget for m (default 256)."), QStringLiteral("MB"), QStringLiteral("256")}});
    p.process(arguments);
    a->cli = p.value(QStringLiteral("cli"));
    a->dir = p.value(QStringLiteral("model"));
    a->name = p.isSet(QStringLiteral("name")) ? p.value(QStringLiteral("name")) : a->dir;
    for (const QString &s : p.value(QStringLiteral("ids")).split(QLatin1Char(',')))
        a->ids.append(s.toLongLong());
    a->tokens = p.value(QStringLiteral("tokens")).toInt();
    a->reps = qMax(1, p.value(QStringLiteral("reps")).toInt());
    a->scenarios = p.value(QStringLiteral("scenarios"));
    a->throttlePrompt = qMax(1, p.value(QStringLiteral("throttle-prompt")).toInt());
    a->throttleMbps = p.value(QStringLiteral("throttle-mbps")).toDouble();
    a->cacheMb = qMax(1, p.value(QStringLiteral("cache-mb")).toInt());
    return !a->cli.isEmpty() && !a->dir.isEmpty();
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QLoggingCategory::setFilterRules(QStringLiteral("surfing.*.debug=false"));
    Args a;
    if (!parse(app.arguments(), &a)) {
        std::fprintf(stderr, "usage: bench_inference --cli SURFING_CLI --model CHUNKS_DIR [--name N] [--ids 1,2] [--tokens N] "
                             "[--reps N] [--scenarios abc] [--throttle-prompt N] [--throttle-mbps X]\n");
        return 2;
    }
    try {
        const ChunkManifest manifest = ChunkManifest::load(a.dir);
        qint64 bytes = 0;
        for (const ManifestChunk &c : manifest.chunks)
            bytes += c.storedBytes;
        std::printf("Model %s: %d chunks, %.1f MB stored.\n\n", qPrintable(a.name), int(manifest.chunks.size()), bytes / 1e6);
        if (a.scenarios.contains(QLatin1Char('a')) || a.scenarios.contains(QLatin1Char('b'))) {
            const Server server(a.cli, a.dir, 0);
            if (a.scenarios.contains(QLatin1Char('a')))
                scenarioWarm(a, server);
            if (a.scenarios.contains(QLatin1Char('b')))
                scenarioHalf(a, server, int(manifest.chunks.size()));
        }
        if (a.scenarios.contains(QLatin1Char('m'))) {
            const Server server(a.cli, a.dir, 0);
            std::printf("| prefetch | cache budget | peak cache resident | RSS then | peak RSS (sampled per unit) |\n|---:|---:|---:|---:|---:|\n");
            scenarioMemory(a, server);
        }
        if (a.scenarios.contains(QLatin1Char('c')))
            scenarioThrottled(a, int(manifest.chunks.size()), bytes);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "bench_inference: %s\n", e.what());
        return 1;
    }
    return 0;
}
