// The ceiling of memory-bounded streaming on this machine: how fast any client could decode when
// the layers it does not hold come over loopback TCP and the same cores also compute.
//
// It is the transfer bound's raw TCP (benchsupport.h: the raw server holding the bytes in memory,
// 1 MiB send()s read 128 KiB at a time; sending by reference, as surfing-cli serve does, was
// slower here when nothing else runs: bench_linkrate's "spliced_median") with the decode step's
// products added and nothing else: no framing, no verification, no cache, no event loop. A
// receiving thread fetches the layers a token needs, up to --ahead of them before compute reaches
// them (what --prefetch does), while the main thread runs the f32 single-row products Surfing
// runs (kernels::matvec split over --threads by forOutputRanges) over every layer of the token:
// fetched ones as they arrive, resident ones (the layers a cache keeps, --resident-mb of other
// weights such as the LM head) from memory.
//
// On a machine where the link, not the CPU, is the limit, the ceiling equals the raw rate. Over
// loopback the "link" is the two copies the cores make, so the products take cores away from it:
// ceiling / raw is the most any client can reach of the transfer bound here.
//
// Prints one JSON line: {"ceiling_bytes_per_second": median over reps, "raw_tcp_bytes_per_second":
// median of raw fetches alone (interleaved with the reps), "ceiling_of_raw": their ratio, ...}.
// Usage: bench_ceiling --chunk FILE --layers 20 --fetched 15 [--resident-mb 131] [--tokens 4]
//        [--ahead 2] [--threads 2] [--reps 3]
#include "benchsupport.h"
#include "inference/blasinfo.h"
#include "inference/computethreads.h"
#include "inference/matvec.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

using namespace surfing;
using namespace surfing::bench;

namespace {

constexpr int64_t kCols = 1024; // any width gives the same bytes read per product

struct Options
{
    QByteArray chunk;
    int layers = 20;
    int fetched = 15;
    qint64 residentBytes = 0;
    int tokens = 4;
    int ahead = 2;
    int reps = 3;
};

// One f32 product over `bytes` of weights, as a [rows, kCols] matrix.
void product(const char *weights, qint64 bytes, const std::vector<float> &x, std::vector<float> &y)
{
    const int64_t rows = bytes / qint64(sizeof(float)) / kCols;
    y.resize(size_t(rows));
    forOutputRanges(rows, size_t(rows * kCols * sizeof(float)), [&](int64_t begin, int64_t end) {
        kernels::matvec(kernels::WeightType::F32, weights, rows, kCols, x.data(), y.data(), nullptr, begin, end);
    });
}

// Buffers the receiving thread fills and compute empties, in order.
class Ring
{
public:
    Ring(int slots, qint64 bytes) : m_slots(size_t(slots))
    {
        for (auto &s : m_slots)
            s.assign(size_t(bytes), 0); // touched now, not during the timed run
    }
    char *slot(int n) { return m_slots[size_t(n) % m_slots.size()].data(); }
    // Receiver: waits until slot n is free (compute released n - slots), returns it.
    char *waitFree(int n)
    {
        std::unique_lock lock(m_mutex);
        m_changed.wait(lock, [&] { return n - m_released < int(m_slots.size()); });
        return slot(n);
    }
    void markFilled(int n)
    {
        std::lock_guard lock(m_mutex);
        m_filled = n + 1;
        m_changed.notify_all();
    }
    const char *waitFilled(int n)
    {
        std::unique_lock lock(m_mutex);
        m_changed.wait(lock, [&] { return m_filled > n; });
        return slot(n);
    }
    void release(int n)
    {
        std::lock_guard lock(m_mutex);
        m_released = n + 1;
        m_changed.notify_all();
    }

private:
    std::vector<std::vector<char>> m_slots;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    int m_filled = 0;
    int m_released = 0;
};

// One run of `tokens` decode steps; returns fetched bytes per second.
double decodeRun(quint16 port, const Options &o, qint64 layerBytes, const std::vector<std::vector<char>> &resident)
{
    RawConnection wire(port, RawSending::MiBPieces);
    wire.setReadSlice(128 * 1024);
    Ring ring(o.ahead + 1, layerBytes);
    const int fetches = o.tokens * o.fetched;
    std::vector<float> x(kCols, 0.01f), y;
    QElapsedTimer timer;
    timer.start();
    std::thread receiver([&] {
        for (int n = 0; n < fetches; ++n) {
            wire.fetch(0, layerBytes, ring.waitFree(n));
            ring.markFilled(n);
        }
    });
    int next = 0;
    for (int t = 0; t < o.tokens; ++t) {
        for (int layer = 0; layer < o.layers; ++layer) {
            if (layer < o.layers - o.fetched) {
                product(resident[size_t(layer)].data(), layerBytes, x, y);
            } else {
                product(ring.waitFilled(next), layerBytes, x, y);
                ring.release(next++);
            }
        }
        if (o.residentBytes > 0)
            product(resident.back().data(), o.residentBytes, x, y);
    }
    receiver.join();
    return double(fetches) * double(layerBytes) / (timer.nsecsElapsed() / 1e9);
}

double rawRate(quint16 port, qint64 bytes, char *into)
{
    RawConnection wire(port, RawSending::MiBPieces);
    wire.setReadSlice(128 * 1024);
    wire.fetch(0, bytes, into); // warm: window open
    QElapsedTimer t;
    t.start();
    wire.fetch(0, bytes, into);
    return bytes / (t.nsecsElapsed() / 1e9);
}

Options parse(QCoreApplication &app)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("The decode rate no streaming client can beat here: raw TCP fetches plus the products, nothing else."));
    p.addHelpOption();
    p.addOptions({{QStringLiteral("chunk"), QStringLiteral("A layer's chunk file (its bytes are fetched and multiplied as f32)."), QStringLiteral("FILE")},
                  {QStringLiteral("layers"), QStringLiteral("Layers per token (default 20)."), QStringLiteral("N"), QStringLiteral("20")},
                  {QStringLiteral("fetched"), QStringLiteral("Of them fetched each token (default 15); the rest are resident."), QStringLiteral("N"), QStringLiteral("15")},
                  {QStringLiteral("resident-mb"), QStringLiteral("Other weights multiplied each token, in MB (default 0)."), QStringLiteral("MB"), QStringLiteral("0")},
                  {QStringLiteral("tokens"), QStringLiteral("Decode steps per rep (default 4)."), QStringLiteral("N"), QStringLiteral("4")},
                  {QStringLiteral("ahead"), QStringLiteral("Layers fetched ahead of compute (default 2)."), QStringLiteral("N"), QStringLiteral("2")},
                  {QStringLiteral("threads"), QStringLiteral("Compute threads (default 2)."), QStringLiteral("N"), QStringLiteral("2")},
                  {QStringLiteral("reps"), QStringLiteral("Reps; medians are printed (default 3)."), QStringLiteral("N"), QStringLiteral("3")}});
    p.process(app);
    Options o;
    o.chunk = p.value(QStringLiteral("chunk")).toLocal8Bit();
    if (o.chunk.isEmpty())
        p.showHelp(2);
    o.layers = qMax(1, p.value(QStringLiteral("layers")).toInt());
    o.fetched = qBound(1, p.value(QStringLiteral("fetched")).toInt(), o.layers);
    o.residentBytes = p.value(QStringLiteral("resident-mb")).toLongLong() * 1000 * 1000;
    o.tokens = qMax(1, p.value(QStringLiteral("tokens")).toInt());
    o.ahead = qMax(0, p.value(QStringLiteral("ahead")).toInt());
    o.reps = qMax(1, p.value(QStringLiteral("reps")).toInt());
    setComputeThreads(qMax(1, p.value(QStringLiteral("threads")).toInt()));
    return o;
}

} // namespace

int main(int argc, char **argv)
{
    restartForFastBlasKernels(argv); // the same kernels' environment as surfing-cli run
    if (argc > 1 && QByteArray(argv[1]) == "--raw-server") {
        QCoreApplication app(argc, argv);
        return runRawServer(app.arguments().mid(2));
    }
    QCoreApplication app(argc, argv);
    const Options o = parse(app);
    QFile file(QString::fromLocal8Bit(o.chunk));
    if (!file.open(QIODevice::ReadOnly))
        qFatal("bench_ceiling: cannot read %s", o.chunk.constData());
    const QByteArray bytes = file.readAll();
    const qint64 layerBytes = bytes.size();
    // Distinct memory for every resident layer and the other weights: one buffer used again would
    // be served from the last-level cache.
    std::vector<std::vector<char>> resident;
    for (int i = 0; i < o.layers - o.fetched; ++i)
        resident.emplace_back(bytes.begin(), bytes.end());
    std::vector<char> other(size_t(o.residentBytes));
    for (size_t at = 0; at < other.size(); at += size_t(layerBytes))
        std::memcpy(other.data() + at, bytes.constData(), qMin<size_t>(size_t(layerBytes), other.size() - at));
    resident.push_back(std::move(other));

    QProcess server;
    const quint16 port = startRawServer(server, {QString::fromLocal8Bit(o.chunk)});
    std::vector<char> into(static_cast<size_t>(layerBytes));
    QVector<double> ceiling, raw;
    for (int rep = 0; rep < o.reps; ++rep) { // interleaved: the two see the same machine
        raw.append(rawRate(port, layerBytes, into.data()));
        ceiling.append(decodeRun(port, o, layerBytes, resident));
    }
    raw.append(rawRate(port, layerBytes, into.data()));
    server.kill();
    server.waitForFinished();
    const double c = percentile(ceiling, 0.5), r = percentile(raw, 0.5);
    std::printf("{\"ceiling_bytes_per_second\": %.0f, \"raw_tcp_bytes_per_second\": %.0f, \"ceiling_of_raw\": %.3f, "
                "\"tokens_per_second\": %.3f, \"layer_bytes\": %lld, \"fetched\": %d, \"layers\": %d, \"threads\": %d}\n",
                c, r, c / r, c / (double(o.fetched) * double(layerBytes)), layerBytes, o.fetched, o.layers, computeThreads());
    return 0;
}
