// Transfer benchmark: a weight server (`surfing-cli serve`) and this client in separate
// processes over loopback, against the raw TCP baseline of benchsupport.h (blocking send() of
// the whole chunk from memory, recv() into a preallocated buffer) in another process, measured
// in the same run. Raw and ws fetches alternate (A B A B ...) in B blocks; the table gives the
// median per-fetch throughput, p50/p99 fetch times and the median over blocks of ws / raw.
//
//   bench_transfer --cli PATH/surfing-cli [--blocks 5] [--rounds-64m 4] [--rounds-1m 64] [--latency 200]
//   (rounds and latency fetches are per block and per transport)
#include "benchsupport.h"
#include "client/websocketclient.h"
#include "protocol/piece.h"
#include "protocol/transfermemory.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <algorithm>
#include <cstdio>
#include <functional>

using namespace surfing;
using namespace surfing::bench;

namespace {

// ---- the weight server -------------------------------------------------------------------
// The protocol as WeightClient speaks it, on the same transport (WebSocketClient, whose sink
// puts each piece's payload straight into the chunk's buffer), without hashing or decoding.
class WsClient
{
public:
    explicit WsClient(const QUrl &url)
    {
        QObject::connect(&m_socket, &WebSocketClient::textMessageReceived, [this](const QByteArray &t) {
            const QJsonObject o = QJsonDocument::fromJson(t).object();
            const QString type = o.value(QLatin1String("type")).toString();
            if (type == QLatin1String("welcome"))
                m_maxPieceBytes = o.value(QLatin1String("max_piece_bytes")).toInt();
            else if (type == QLatin1String("chunk"))
                m_piecesLeft = qint64(o.value(QLatin1String("pieces")).toDouble());
            else
                qFatal("unexpected message: %s", t.constData());
            m_gotText = true;
        });
        QObject::connect(&m_socket, &WebSocketClient::binaryMessageReceived, [](const QByteArray &) { qFatal("a piece missed the sink"); });
        QObject::connect(&m_socket, &WebSocketClient::disconnected, [this] { qFatal("disconnected: %s", qPrintable(m_socket.errorString())); });
        WebSocketClient::BinarySink sink;
        sink.prefixBytes = protocol::kPieceHeaderBytes;
        sink.destination = [this](QByteArrayView, qint64 rest) -> char * {
            if (rest > m_maxPieceBytes || m_offset + rest > m_into->size())
                qFatal("bad piece");
            return m_into->data() + m_offset;
        };
        sink.delivered = [this](QByteArrayView, qint64 rest) {
            m_offset += rest;
            --m_piecesLeft;
        };
        m_socket.setBinarySink(sink);
        bool open = false;
        QObject::connect(&m_socket, &WebSocketClient::connected, [&open] { open = true; });
        m_socket.open(url);
        waitUntil([&open] { return open; });
        m_socket.sendTextMessage(R"({"type":"hello","protocol":1,"client":"bench_transfer"})");
        waitUntil([this] { return m_gotText; });
    }
    void fetch(const QString &chunk, QByteArray &into)
    {
        m_into = &into;
        m_offset = 0;
        m_piecesLeft = -1;
        m_socket.sendTextMessage(QStringLiteral(R"({"type":"get","id":%1,"chunk":"%2"})").arg(++m_id).arg(chunk).toUtf8());
        waitUntil([this] { return m_piecesLeft == 0; });
        if (m_offset != into.size())
            qFatal("short chunk: %lld of %lld bytes", m_offset, qint64(into.size()));
    }

private:
    WebSocketClient m_socket;
    bool m_gotText = false;
    QByteArray *m_into = nullptr;
    qint64 m_offset = 0;
    qint64 m_piecesLeft = -1;
    int m_maxPieceBytes = 0; // from the welcome
    quint32 m_id = 0;
};

double nowMs(const QElapsedTimer &t) { return t.nsecsElapsed() / 1e6; }

// Per-fetch times (ms) of both transports and, per block, ws / raw throughput (the ratio of the
// block's median fetch times, so one stalled fetch does not decide a block).
struct Paired {
    QVector<double> rawMs, wsMs, blockRatio;
};

// `blocks` blocks of `rounds` raw and `rounds` ws fetches, alternating; who goes first alternates
// too, so neither always runs right after the other.
Paired measurePaired(int blocks, int rounds, const std::function<void()> &raw, const std::function<void()> &ws)
{
    Paired p;
    QElapsedTimer t;
    for (int b = 0; b < blocks; ++b) {
        QVector<double> rawBlock, wsBlock;
        for (int i = 0; i < 2 * rounds; ++i) {
            const bool rawTurn = (i % 2 == 0) == (i / 2 % 2 == 0);
            t.start();
            (rawTurn ? raw : ws)();
            (rawTurn ? rawBlock : wsBlock).append(nowMs(t));
        }
        p.rawMs += rawBlock;
        p.wsMs += wsBlock;
        p.blockRatio.append(percentile(rawBlock, 0.5) / percentile(wsBlock, 0.5));
    }
    return p;
}

double median(const QVector<double> &v) { return percentile(v, 0.5); }

QVector<double> mibPerSecond(const QVector<double> &ms, qint64 bytes)
{
    QVector<double> out;
    for (double m : ms)
        out.append(bytes / double(1 << 20) / (m / 1000));
    return out;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    // This program stands in for WeightClient, which does the same (protocol/transfermemory.h).
    protocol::keepTransferMemoryResident();
    if (argc > 1 && QByteArray(argv[1]) == "--raw-server")
        return runRawServer(app.arguments().mid(2));
    QCommandLineParser parser;
    parser.addHelpOption();
    parser.addOptions({{QStringLiteral("cli"), QStringLiteral("Path of surfing-cli."), QStringLiteral("PATH")},
                       {QStringLiteral("blocks"), QStringLiteral("Paired blocks per size (default 5)."), QStringLiteral("N"), QStringLiteral("5")},
                       {QStringLiteral("rounds-64m"), QStringLiteral("64 MiB fetches per block and transport (default 4)."), QStringLiteral("N"), QStringLiteral("4")},
                       {QStringLiteral("rounds-1m"), QStringLiteral("1 MiB fetches per block and transport (default 64)."), QStringLiteral("N"), QStringLiteral("64")},
                       {QStringLiteral("latency"), QStringLiteral("16 KiB fetches per block and transport (default 200)."), QStringLiteral("N"), QStringLiteral("200")},
                       {QStringLiteral("cpus"), QStringLiteral("Where the processes run: 'split' (default) pins this client to CPU 0 and both servers to CPU 1; "
                                                               "'shared' pins all three to CPU 0; 'free' leaves it to the scheduler."),
                        QStringLiteral("split|shared|free"), QStringLiteral("split")}});
    parser.process(app);
    if (!parser.isSet(QStringLiteral("cli")))
        qFatal("--cli PATH/surfing-cli is required");

    QTemporaryDir work;
    const QString dir = work.filePath(QStringLiteral("chunks"));
    const QVector<qint64> sizes{64LL << 20, 1LL << 20, 16LL << 10};
    const QStringList files = makeChunkDir(dir, QStringLiteral("bench_transfer"), sizes);

    QProcess rawProcess, wsProcess;
    const quint16 rawPort = startRawServer(rawProcess, files);
    const QUrl wsUrl = startWeightServer(wsProcess, parser.value(QStringLiteral("cli")), dir, QStringLiteral("1024"));
    const QString cpus = parser.value(QStringLiteral("cpus"));
    if (cpus != QLatin1String("free")) {
        const int serverCpu = cpus == QLatin1String("split") ? 1 : 0;
        pinToCpu(0, 0);
        pinToCpu(rawProcess.processId(), serverCpu);
        pinToCpu(wsProcess.processId(), serverCpu);
    }
    RawConnection raw(rawPort);
    WsClient ws(wsUrl);
    const int blocks = parser.value(QStringLiteral("blocks")).toInt();
    const int roundsFor[] = {parser.value(QStringLiteral("rounds-64m")).toInt(), parser.value(QStringLiteral("rounds-1m")).toInt(),
                             parser.value(QStringLiteral("latency")).toInt()};

    std::printf("| transfer | fetches per transport | raw TCP, median per fetch | surfing ws, median per fetch |"
                " raw fetch p50 / p99 | ws fetch p50 / p99 | ws / raw, median of %d blocks (min-max) |\n"
                "|---|---|---|---|---|---|---|\n", blocks);
    for (int c = 0; c < sizes.size(); ++c) {
        const qint64 bytes = QFileInfo(files[c]).size();
        const QString name = QStringLiteral("layer_%1").arg(c);
        QByteArray rawBuffer(bytes, Qt::Uninitialized), wsBuffer(bytes, Qt::Uninitialized);
        const auto fetchRaw = [&] { raw.fetch(quint32(c), bytes, rawBuffer.data()); };
        const auto fetchWs = [&] { ws.fetch(name, wsBuffer); };
        fetchRaw(); // warm up both (the server cache too)
        fetchWs();
        if (rawBuffer != wsBuffer)
            qFatal("raw and ws delivered different bytes for %s", qPrintable(name));
        const Paired p = measurePaired(blocks, roundsFor[c], fetchRaw, fetchWs);
        const QVector<double> ratios = p.blockRatio;
        std::printf("| %s | %d | %.0f MiB/s | %.0f MiB/s | %.3f / %.3f ms | %.3f / %.3f ms | %.0f%% (%.0f-%.0f%%) |\n",
                    c == 0 ? "64 MiB chunk" : c == 1 ? "1 MiB chunk" : "16 KiB chunk", int(p.rawMs.size()),
                    median(mibPerSecond(p.rawMs, bytes)), median(mibPerSecond(p.wsMs, bytes)),
                    percentile(p.rawMs, 0.5), percentile(p.rawMs, 0.99), percentile(p.wsMs, 0.5), percentile(p.wsMs, 0.99),
                    100 * median(ratios), 100 * *std::min_element(ratios.begin(), ratios.end()),
                    100 * *std::max_element(ratios.begin(), ratios.end()));
        std::fflush(stdout);
    }
    wsProcess.terminate();
    rawProcess.kill();
    wsProcess.waitForFinished();
    rawProcess.waitForFinished();
    return 0;
}
