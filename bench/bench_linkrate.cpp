// The transfer bound of bench/run-bounded.sh: how fast plain TCP moves chunk-sized buffers over
// loopback on this machine, now (the raw baseline of benchsupport.h: a server process holding
// the bytes in memory, recv() into a preallocated buffer), the fastest of four ways: one
// blocking send() per chunk read with plain recv(), the same read with SO_RCVLOWAT, 1 MiB
// send()s read 128 KiB at a time, and the same with the sender passing its pages by reference.
// Prints one JSON line: {"raw_tcp_bytes_per_second": median, "min": ..., "max": ..., "fetches": N,
// "rates": [each fetch's rate]} (the rates let a caller pool samples taken at different times).
// Usage: bench_linkrate [--mb 45] [--fetches 8]
#include "benchsupport.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QTemporaryDir>
#include <algorithm>
#include <array>
#include <cstdio>

using namespace surfing::bench;

int main(int argc, char **argv)
{
    if (argc > 1 && QByteArray(argv[1]) == "--raw-server") {
        QCoreApplication app(argc, argv);
        return runRawServer(app.arguments().mid(2));
    }
    QCoreApplication app(argc, argv);
    QCommandLineParser p;
    p.addOptions({{QStringLiteral("mb"), QStringLiteral("Chunk size in MB (default 45, a layer of the 1 GB model)."), QStringLiteral("N"), QStringLiteral("45")},
                  {QStringLiteral("fetches"), QStringLiteral("Fetches; the median rate is printed (default 8)."), QStringLiteral("N"), QStringLiteral("8")}});
    p.process(app);
    const qint64 asked = p.value(QStringLiteral("mb")).toLongLong() * 1000 * 1000;
    const int fetches = qMax(1, p.value(QStringLiteral("fetches")).toInt());
    QTemporaryDir dir;
    const QStringList files = makeChunkDir(dir.path(), QStringLiteral("linkrate"), {asked});
    const qint64 bytes = QFileInfo(files.first()).size(); // what the raw server sends
    QProcess server;
    const quint16 port = startRawServer(server, files);
    QByteArray into(bytes, Qt::Uninitialized);
    // Three ways, in alternation: recv() as bytes come; recv() woken only once 256 KiB are there
    // (SO_RCVLOWAT, as the weight client reads a piece); and a sender writing 1 MiB at a time
    // read 128 KiB at a time. The fastest (by median) is the bound: the best plain transfer this
    // machine makes now.
    // A fourth: the sliced reads from a sender passing its pages by reference (no copy on the
    // sending side), the way surfing-cli serve sends a chunk's pieces.
    QVector<double> plain, lowWater, sliced, spliced;
    {
        RawConnection a(port), b(port), c(port, RawSending::MiBPieces), d(port, RawSending::Spliced);
        b.setReadLowWater(256 * 1024);
        c.setReadSlice(128 * 1024);
        d.setReadSlice(128 * 1024);
        const std::array<std::pair<RawConnection *, QVector<double> *>, 4> ways{
            {{&a, &plain}, {&b, &lowWater}, {&c, &sliced}, {&d, &spliced}}};
        for (const auto &way : ways) // warm: pages of the buffer touched, TCP window open
            way.first->fetch(0, bytes, into.data());
        for (int i = 0; i < fetches; ++i) {
            for (const auto &[raw, into_rates] : ways) {
                QElapsedTimer t;
                t.start();
                raw->fetch(0, bytes, into.data());
                into_rates->append(bytes / (t.nsecsElapsed() / 1e9));
            }
        }
    }
    const QVector<double> *fastest = &plain;
    for (const QVector<double> *way : {&lowWater, &sliced, &spliced})
        if (percentile(*way, 0.5) > percentile(*fastest, 0.5))
            fastest = way;
    const QVector<double> &rates = *fastest;
    server.kill();
    server.waitForFinished();
    QStringList each;
    for (double r : rates)
        each << QString::number(r, 'f', 0);
    std::printf("{\"raw_tcp_bytes_per_second\": %.0f, \"min\": %.0f, \"max\": %.0f, \"fetches\": %d, \"chunk_bytes\": %lld, "
                "\"rates\": [%s], \"plain_median\": %.0f, \"low_water_median\": %.0f, \"sliced_median\": %.0f, \"spliced_median\": %.0f}\n",
                percentile(rates, 0.5), *std::min_element(rates.begin(), rates.end()),
                *std::max_element(rates.begin(), rates.end()), fetches, bytes, qPrintable(each.join(QStringLiteral(", "))),
                percentile(plain, 0.5), percentile(lowWater, 0.5), percentile(sliced, 0.5), percentile(spliced, 0.5));
    return 0;
}
