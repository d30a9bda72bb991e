// Many-clients benchmark: N clients (default 32) each fetch a whole model, chunk by chunk in
// order, from one `surfing-cli serve` process with a given --cache-mb, all at once, over
// loopback. Reports the aggregate throughput and the server's peak RSS (VmHWM from
// /proc/PID/status), beside the raw TCP baseline of benchsupport.h measured in the same run:
// N client threads with blocking sockets against a raw server process that holds the model in
// memory and serves each connection on its own thread. Two weight-server clients:
//  - N WeightClients, each on its own network thread (what inference rides on: SHA-256 of every
//    chunk before it is handed out);
//  - N minimal protocol clients in one event loop of this process (transport only, no hash).
// The three runs rotate in B blocks (raw, ws, WeightClient, then ws, WeightClient, raw, ...);
// the table gives the median aggregate and the median per-block ratio to raw.
//
//   bench_clients --cli PATH/surfing-cli [--clients 32] [--model-mb 512] [--chunk-mb 16] [--cache-mb 128] [--blocks 3]
#include "benchsupport.h"
#include "client/weightclient.h"
#include "client/websocketclient.h"
#include "protocol/piece.h"
#include "protocol/transfermemory.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QProcess>
#include <QTemporaryDir>
#include <QThread>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <thread>

using namespace surfing;
using namespace surfing::bench;

namespace {

// kB value of a /proc/PID/status field (VmHWM, VmRSS), -1 when unreadable.
qint64 procStatusKb(qint64 pid, const QByteArray &field)
{
    QFile f(QStringLiteral("/proc/%1/status").arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : f.readAll().split('\n')) {
        if (line.startsWith(field + ':'))
            return line.mid(field.size() + 1).trimmed().split(' ').value(0).toLongLong();
    }
    return -1;
}

double mibPerSecond(qint64 bytes, const QElapsedTimer &timer)
{
    return bytes / double(1 << 20) / (timer.nsecsElapsed() / 1e9);
}

// ---- raw TCP baseline: one thread per client -------------------------------------------------

double runRaw(int clients, quint16 port, int chunks, qint64 chunkBytes)
{
    std::vector<std::unique_ptr<RawConnection>> connections;
    for (int i = 0; i < clients; ++i)
        connections.push_back(std::make_unique<RawConnection>(port));
    std::vector<std::thread> threads;
    QElapsedTimer timer;
    timer.start();
    for (auto &c : connections) {
        threads.emplace_back([&c, chunks, chunkBytes] {
            std::vector<char> buffer(static_cast<size_t>(chunkBytes)); // preallocated, reused for every chunk
            for (int i = 0; i < chunks; ++i)
                c->fetch(quint32(i), chunkBytes, buffer.data());
        });
    }
    for (std::thread &t : threads)
        t.join();
    return mibPerSecond(qint64(clients) * chunks * chunkBytes, timer);
}

// ---- WeightClient: each on its own network thread ---------------------------------------------

double runWeightClients(int clients, const QUrl &url, int chunks, qint64 chunkBytes)
{
    struct Client {
        QThread thread;
        WeightClient *client = nullptr;
        std::atomic<int> next{0};
    };
    std::vector<std::unique_ptr<Client>> all;
    std::atomic<int> ready{0}, finished{0};
    for (int i = 0; i < clients; ++i) {
        auto c = std::make_unique<Client>();
        WeightClientOptions o;
        o.url = url;
        o.clientName = QStringLiteral("bench_clients");
        c->client = new WeightClient(o);
        Client *raw = c.get();
        QObject::connect(c->client, &WeightClient::manifestReceived, c->client, [&ready] { ++ready; }, Qt::DirectConnection);
        QObject::connect(c->client, &WeightClient::requestFailed, c->client,
                         [](quint32, const QString &name, const QString &, const QString &message) {
                             qFatal("%s: %s", qPrintable(name), qPrintable(message));
                         }, Qt::DirectConnection);
        QObject::connect(c->client, &WeightClient::chunkReceived, c->client,
                         [raw, chunks, chunkBytes, &finished](quint32, const QString &, const QByteArray &data) {
                             if (data.size() != chunkBytes)
                                 qFatal("short chunk: %lld of %lld bytes", qint64(data.size()), chunkBytes);
                             const int next = ++raw->next;
                             if (next < chunks)
                                 raw->client->fetchChunk(QStringLiteral("layer_%1").arg(next), true);
                             else
                                 ++finished;
                         }, Qt::DirectConnection);
        c->client->moveToThread(&c->thread);
        c->thread.start();
        QMetaObject::invokeMethod(c->client, &WeightClient::open, Qt::QueuedConnection);
        all.push_back(std::move(c));
    }
    while (ready < clients)
        QThread::msleep(1);
    QElapsedTimer timer;
    timer.start();
    for (auto &c : all)
        c->client->fetchChunk(QStringLiteral("layer_0"), true);
    while (finished < clients)
        QThread::msleep(1);
    const double mibs = mibPerSecond(qint64(clients) * chunks * chunkBytes, timer);
    for (auto &c : all) {
        WeightClient *client = c->client;
        QMetaObject::invokeMethod(client, [client] { client->close(); client->moveToThread(nullptr); }, Qt::BlockingQueuedConnection);
        c->thread.quit();
        c->thread.wait();
        client->moveToThread(QThread::currentThread());
        delete client;
    }
    return mibs;
}

// ---- minimal protocol clients in one event loop ---------------------------------------------

// Speaks the protocol on WeightClient's transport (pieces land in a buffer of the chunk's
// size through the sink), without hashing, decoding or caching.
class WsStream : public QObject
{
public:
    WsStream(const QUrl &url, int chunks) : m_chunks(chunks)
    {
        connect(&m_socket, &WebSocketClient::connected, this, [this] {
            m_socket.sendTextMessage(R"({"type":"hello","protocol":1,"client":"bench_clients"})");
        });
        connect(&m_socket, &WebSocketClient::textMessageReceived, this, &WsStream::onText);
        connect(&m_socket, &WebSocketClient::binaryMessageReceived, this, [](const QByteArray &) { qFatal("a piece missed the sink"); });
        WebSocketClient::BinarySink sink;
        sink.prefixBytes = protocol::kPieceHeaderBytes;
        sink.destination = [this](QByteArrayView header, qint64 rest) -> char * {
            const std::optional<protocol::Piece> p = protocol::parsePiece(header, 0);
            if (!p || p->requestId != quint32(m_next + 1) || m_got + rest > m_buffer.size())
                qFatal("bad piece");
            return m_buffer.data() + m_got;
        };
        sink.delivered = [this](QByteArrayView, qint64 rest) { onPiece(rest); };
        m_socket.setBinarySink(sink);
        m_socket.open(url);
    }
    bool done() const { return m_next >= m_chunks; }
    qint64 bytes() const { return m_bytes; }

private:
    void onText(const QByteArray &text)
    {
        const QJsonObject o = QJsonDocument::fromJson(text).object();
        const QString type = o.value(QLatin1String("type")).toString();
        if (type == QLatin1String("welcome"))
            return request();
        if (type != QLatin1String("chunk"))
            qFatal("unexpected reply: %s", text.constData());
        m_expected = qint64(o.value(QLatin1String("size")).toDouble());
        if (m_buffer.size() < m_expected)
            m_buffer.resize(m_expected);
        m_got = 0;
        m_piecesLeft = qint64(o.value(QLatin1String("pieces")).toDouble());
    }
    void onPiece(qint64 bytes)
    {
        m_got += bytes;
        if (--m_piecesLeft > 0)
            return;
        if (m_got != m_expected)
            qFatal("short chunk: %lld of %lld bytes", m_got, m_expected);
        m_bytes += m_got;
        ++m_next;
        request();
    }
    void request()
    {
        if (!done())
            m_socket.sendTextMessage(QStringLiteral(R"({"type":"get","id":%1,"chunk":"layer_%2"})").arg(m_next + 1).arg(m_next).toUtf8());
    }

    WebSocketClient m_socket;
    QByteArray m_buffer;
    int m_chunks;
    int m_next = 0;
    qint64 m_expected = 0;
    qint64 m_got = 0;
    qint64 m_piecesLeft = 0;
    qint64 m_bytes = 0;
};

// Starts `clients` streams at once and waits for all; returns the aggregate MiB/s.
template <typename Stream, typename... Args>
double runAll(int clients, Args... args)
{
    std::vector<std::unique_ptr<Stream>> streams;
    QElapsedTimer timer;
    timer.start();
    for (int i = 0; i < clients; ++i)
        streams.push_back(std::make_unique<Stream>(args...));
    waitUntil([&] { return std::all_of(streams.begin(), streams.end(), [](const auto &s) { return s->done(); }); });
    qint64 total = 0;
    for (const auto &s : streams)
        total += s->bytes();
    return total / double(1 << 20) / (timer.nsecsElapsed() / 1e9);
}

struct Summary {
    double median, min, max;
};

Summary summarize(QVector<double> v)
{
    std::sort(v.begin(), v.end());
    return {percentile(v, 0.5), v.first(), v.last()};
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    protocol::keepTransferMemoryResident(); // as WeightClient does
    QLoggingCategory::setFilterRules(QStringLiteral("surfing.client.info=false")); // 32 x connection states
    if (argc > 1 && QByteArray(argv[1]) == "--raw-server")
        return runRawServer(app.arguments().mid(2));
    QCommandLineParser parser;
    parser.addHelpOption();
    parser.addOptions({{QStringLiteral("cli"), QStringLiteral("Path of surfing-cli."), QStringLiteral("PATH")},
                       {QStringLiteral("clients"), QStringLiteral("Concurrent clients (default 32)."), QStringLiteral("N"), QStringLiteral("32")},
                       {QStringLiteral("model-mb"), QStringLiteral("Model size in MiB (default 512)."), QStringLiteral("MB"), QStringLiteral("512")},
                       {QStringLiteral("chunk-mb"), QStringLiteral("Chunk size in MiB (default 16)."), QStringLiteral("MB"), QStringLiteral("16")},
                       {QStringLiteral("cache-mb"), QStringLiteral("Server cache budget in MiB (default 128)."), QStringLiteral("MB"), QStringLiteral("128")},
                       {QStringLiteral("blocks"), QStringLiteral("Rotations of the three runs (default 3)."), QStringLiteral("N"), QStringLiteral("3")},
                       {QStringLiteral("profile"), QStringLiteral("Only run client K (0 raw, 1 protocol client, 2 WeightClient) "
                                                                   "N times, for perf; prints the serve PID first."), QStringLiteral("K")}});
    parser.process(app);
    if (!parser.isSet(QStringLiteral("cli")))
        qFatal("--cli PATH/surfing-cli is required");
    const int clients = parser.value(QStringLiteral("clients")).toInt();
    const qint64 chunkBytes = parser.value(QStringLiteral("chunk-mb")).toLongLong() << 20;
    const int chunks = int(qMax<qint64>(1, (parser.value(QStringLiteral("model-mb")).toLongLong() << 20) / chunkBytes));
    const QString cacheMb = parser.value(QStringLiteral("cache-mb"));
    const int blocks = qMax(1, parser.value(QStringLiteral("blocks")).toInt());

    QTemporaryDir work;
    const QString dir = work.filePath(QStringLiteral("chunks"));
    const QStringList files = makeChunkDir(dir, QStringLiteral("bench_clients"), QVector<qint64>(chunks, chunkBytes));
    const qint64 fileBytes = QFileInfo(files.first()).size();

    QProcess raw, serve;
    const quint16 rawPort = startRawServer(raw, files);
    const QUrl url = startWeightServer(serve, parser.value(QStringLiteral("cli")), dir, cacheMb);
    const qint64 idleKb = procStatusKb(serve.processId(), "VmRSS");

    const std::function<double()> runs[] = {
        [&] { return runRaw(clients, rawPort, chunks, fileBytes); },
        [&] { return runAll<WsStream>(clients, url, chunks); },
        [&] { return runWeightClients(clients, url, chunks, fileBytes); },
    };
    if (parser.isSet(QStringLiteral("profile"))) {
        std::printf("serve pid %lld\n", serve.processId());
        std::fflush(stdout);
        for (int b = 0; b < blocks; ++b)
            std::printf("%.0f MiB/s\n", runs[parser.value(QStringLiteral("profile")).toInt() % 3]());
        serve.terminate();
        serve.waitForFinished();
        raw.kill();
        raw.waitForFinished();
        return 0;
    }
    QVector<double> mibs[3], ratio[2];
    for (int b = 0; b < blocks; ++b) {
        double got[3];
        for (int k = 0; k < 3; ++k) {
            const int which = (b + k) % 3;
            got[which] = runs[which]();
            mibs[which].append(got[which]);
        }
        ratio[0].append(got[1] / got[0]);
        ratio[1].append(got[2] / got[0]);
    }
    const qint64 peakKb = procStatusKb(serve.processId(), "VmHWM");
    serve.terminate();
    raw.kill();
    serve.waitForFinished();
    raw.waitForFinished();

    const double limitMiB = cacheMb.toDouble() + 200;
    const double peakMiB = peakKb / 1024.0;
    const char *names[] = {"raw TCP (threads, blocking send/recv)", "surfing ws, protocol client (no hash)", "surfing ws, WeightClient (SHA-256)"};
    std::printf("%d clients, model %d x %lld MiB, server --cache-mb %s, %d blocks\n\n"
                "| client | aggregate, median (min-max) | / raw TCP, median of blocks (min-max) |\n|---|---|---|\n",
                clients, chunks, chunkBytes >> 20, qPrintable(cacheMb), blocks);
    for (int k = 0; k < 3; ++k) {
        const Summary s = summarize(mibs[k]);
        std::printf("| %s | %.0f MiB/s (%.0f-%.0f) |", names[k], s.median, s.min, s.max);
        if (k == 0) {
            std::printf(" - |\n");
        } else {
            const Summary r = summarize(ratio[k - 1]);
            std::printf(" %.0f%% (%.0f-%.0f%%) |\n", 100 * r.median, 100 * r.min, 100 * r.max);
        }
    }
    std::printf("\n| server RSS idle | server peak RSS (VmHWM), all blocks | limit (cache + 200 MiB) |\n|---|---|---|\n"
                "| %.0f MiB | %.0f MiB | %.0f MiB (%s) |\n",
                idleKb / 1024.0, peakMiB, limitMiB, peakKb > 0 && peakMiB <= limitMiB ? "met" : "NOT met");
    std::fflush(stdout);
    return 0;
}
