// Transfer benchmark: a weight server (`surfing-cli serve`) and this client in separate
// processes over loopback, against a raw TCP transfer of the same bytes measured in the same
// run (a helper process of this program). Prints a Markdown table.
//
//   bench_transfer --cli PATH/surfing-cli [--rounds-64m N] [--rounds-1m N] [--latency N]
#include "base/sha256.h"
#include "format/chunkmanifest.h"
#include "format/safetensors.h"
#include "protocol/piece.h"
#include "protocol/transfermemory.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRandomGenerator>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QWebSocket>
#include <QtEndian>
#include <algorithm>
#include <cstdio>

using namespace surfing;

namespace {

struct Sizes {
    QString name;
    qint64 bytes;
};

// A chunk directory with one chunk per size; the payload is random so nothing compresses.
QVector<Sizes> makeChunkDir(const QString &dir, const QVector<qint64> &sizes)
{
    QDir().mkpath(dir);
    ChunkManifest m;
    m.modelName = QStringLiteral("transfer-bench");
    m.modelType = QStringLiteral("llama");
    m.family = ModelFamily::Llama;
    m.numLayers = int(sizes.size());
    m.createdBy = QStringLiteral("bench_transfer");
    QVector<Sizes> out;
    for (int i = 0; i < sizes.size(); ++i) {
        QByteArray data(sizes[i] - 128, Qt::Uninitialized); // leaves room for the header
        QRandomGenerator rng(quint32(i + 1));
        rng.fillRange(reinterpret_cast<quint32 *>(data.data()), data.size() / 4);
        const QByteArray file = serializeSafetensors({TensorView{QStringLiteral("w"), Dtype::U8, {data.size()}, data}});
        ManifestChunk c;
        c.name = QStringLiteral("layer_%1").arg(i);
        c.kind = QStringLiteral("layer");
        c.index = i;
        c.file = c.name + QStringLiteral(".safetensors");
        c.storedBytes = c.rawBytes = file.size();
        c.sha256 = Sha256::hashHex(file);
        c.tensors = {ManifestTensor{QStringLiteral("w"), Dtype::U8, {data.size()}, QStringLiteral("w")}};
        QFile f(dir + QLatin1Char('/') + c.file);
        if (!f.open(QIODevice::WriteOnly) || f.write(file) != file.size())
            qFatal("cannot write %s", qPrintable(f.fileName()));
        m.chunks.append(c);
        out.append({c.name, file.size()});
    }
    QFile manifest(dir + QStringLiteral("/chunk_info.json"));
    if (!manifest.open(QIODevice::WriteOnly))
        qFatal("cannot write the manifest");
    manifest.write(m.toJson());
    return out;
}

void waitUntil(const std::function<bool()> &done)
{
    QEventLoop loop;
    while (!done())
        loop.processEvents(QEventLoop::WaitForMoreEvents);
}

// ---- raw TCP baseline: a helper process serves files from memory on request ----------------

int runRawServer(const QStringList &files)
{
    QVector<QByteArray> data;
    for (const QString &path : files) {
        QFile f(path);
        if (!f.open(QIODevice::ReadOnly))
            return 1;
        data.append(f.readAll());
    }
    QTcpServer server;
    if (!server.listen(QHostAddress::LocalHost, 0))
        return 1;
    std::printf("%d\n", server.serverPort());
    std::fflush(stdout);
    QObject::connect(&server, &QTcpServer::newConnection, [&] {
        QTcpSocket *s = server.nextPendingConnection();
        s->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        QObject::connect(s, &QTcpSocket::readyRead, s, [s, &data] {
            while (s->bytesAvailable() >= 4) {
                quint32 index;
                s->read(reinterpret_cast<char *>(&index), 4);
                s->write(data.value(int(qFromLittleEndian(index))));
            }
        });
        QObject::connect(s, &QTcpSocket::disconnected, QCoreApplication::instance(), &QCoreApplication::quit);
    });
    return QCoreApplication::exec();
}

class RawClient
{
public:
    explicit RawClient(quint16 port)
    {
        m_socket.connectToHost(QHostAddress::LocalHost, port);
        m_socket.waitForConnected(30000);
        m_socket.setSocketOption(QAbstractSocket::LowDelayOption, 1);
    }
    void fetch(quint32 index, qint64 size, QByteArray &into)
    {
        const quint32 le = qToLittleEndian(index);
        m_socket.write(reinterpret_cast<const char *>(&le), 4);
        qint64 got = 0;
        while (got < size) {
            if (m_socket.bytesAvailable() == 0)
                m_socket.waitForReadyRead(30000);
            got += m_socket.read(into.data() + got, size - got);
        }
    }

private:
    QTcpSocket m_socket;
};

// ---- the weight server -------------------------------------------------------------------

class WsClient
{
public:
    explicit WsClient(const QUrl &url)
    {
        QObject::connect(&m_socket, &QWebSocket::textMessageReceived, [this](const QString &t) {
            const QJsonObject o = QJsonDocument::fromJson(t.toUtf8()).object();
            if (o.value(QLatin1String("type")).toString() == QLatin1String("chunk"))
                m_piecesLeft = qint64(o.value(QLatin1String("pieces")).toDouble());
            m_lastText = o;
            m_gotText = true;
        });
        QObject::connect(&m_socket, &QWebSocket::binaryMessageReceived, [this](const QByteArray &m) {
            const std::optional<protocol::Piece> p = protocol::parsePiece(m);
            if (!p)
                qFatal("bad piece");
            memcpy(m_into->data() + m_offset, p->payload.data(), size_t(p->payload.size()));
            m_offset += p->payload.size();
            --m_piecesLeft;
        });
        m_socket.open(url);
        waitUntil([this] { return m_socket.state() == QAbstractSocket::ConnectedState; });
        m_socket.sendTextMessage(QStringLiteral(R"({"type":"hello","protocol":1,"client":"bench_transfer"})"));
        waitUntil([this] { return m_gotText; });
    }
    void fetch(const QString &chunk, QByteArray &into)
    {
        m_into = &into;
        m_offset = 0;
        m_piecesLeft = -1;
        m_socket.sendTextMessage(QStringLiteral(R"({"type":"get","id":%1,"chunk":"%2"})").arg(++m_id).arg(chunk));
        waitUntil([this] { return m_piecesLeft == 0; });
        if (m_offset != into.size())
            qFatal("short chunk: %lld of %lld bytes", m_offset, qint64(into.size()));
    }

private:
    QWebSocket m_socket;
    QJsonObject m_lastText;
    bool m_gotText = false;
    QByteArray *m_into = nullptr;
    qint64 m_offset = 0;
    qint64 m_piecesLeft = -1;
    quint32 m_id = 0;
};

QUrl startServer(QProcess &p, const QString &cli, const QString &dir)
{
    p.start(cli, {QStringLiteral("serve"), dir, QStringLiteral("--port"), QStringLiteral("0"), QStringLiteral("--cache-mb"), QStringLiteral("1024")});
    p.waitForStarted();
    QByteArray line;
    while (!line.contains('\n') && p.waitForReadyRead(60000))
        line += p.readAllStandardOutput();
    return QUrl(QString::fromUtf8(line.trimmed()));
}

quint16 startRawServer(QProcess &p, const QStringList &files)
{
    p.start(QCoreApplication::applicationFilePath(), QStringList{QStringLiteral("--raw-server")} + files);
    p.waitForStarted();
    QByteArray line;
    while (!line.contains('\n') && p.waitForReadyRead(60000))
        line += p.readAllStandardOutput();
    return quint16(line.trimmed().toUInt());
}

double percentile(QVector<double> v, double q)
{
    std::sort(v.begin(), v.end());
    return v.isEmpty() ? 0 : v[qMin(v.size() - 1, int(q * (v.size() - 1) + 0.5))];
}

struct Result {
    double seconds = 0;
    QVector<double> each;
};

template <typename Fetch>
Result measure(int rounds, Fetch fetch)
{
    Result r;
    QElapsedTimer all, one;
    all.start();
    for (int i = 0; i < rounds; ++i) {
        one.start();
        fetch(i);
        r.each.append(one.nsecsElapsed() / 1e6);
    }
    r.seconds = all.nsecsElapsed() / 1e9;
    return r;
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
                       {QStringLiteral("rounds-64m"), QStringLiteral("64 MiB fetches (default 8)."), QStringLiteral("N"), QStringLiteral("8")},
                       {QStringLiteral("rounds-1m"), QStringLiteral("1 MiB fetches (default 256)."), QStringLiteral("N"), QStringLiteral("256")},
                       {QStringLiteral("latency"), QStringLiteral("16 KiB fetches for latency (default 1000)."), QStringLiteral("N"), QStringLiteral("1000")}});
    parser.process(app);
    if (!parser.isSet(QStringLiteral("cli")))
        qFatal("--cli PATH/surfing-cli is required");

    QTemporaryDir work;
    const QString dir = work.filePath(QStringLiteral("chunks"));
    const QVector<Sizes> chunks = makeChunkDir(dir, {64LL << 20, 1LL << 20, 16LL << 10});
    QStringList files;
    for (const Sizes &c : chunks)
        files << dir + QLatin1Char('/') + c.name + QStringLiteral(".safetensors");

    QProcess rawProcess, wsProcess;
    RawClient raw(startRawServer(rawProcess, files));
    WsClient ws(startServer(wsProcess, parser.value(QStringLiteral("cli")), dir));

    std::printf("| transfer | rounds | raw TCP | surfing ws | ws / raw | p50 fetch raw / ws |\n|---|---|---|---|---|---|\n");
    const int roundsFor[] = {parser.value(QStringLiteral("rounds-64m")).toInt(), parser.value(QStringLiteral("rounds-1m")).toInt()};
    for (int c = 0; c < 2; ++c) {
        QByteArray buffer(chunks[c].bytes, Qt::Uninitialized);
        raw.fetch(quint32(c), chunks[c].bytes, buffer); // warm up both (the server cache too)
        ws.fetch(chunks[c].name, buffer);
        const int rounds = roundsFor[c];
        const Result r = measure(rounds, [&](int) { raw.fetch(quint32(c), chunks[c].bytes, buffer); });
        const Result w = measure(rounds, [&](int) { ws.fetch(chunks[c].name, buffer); });
        const double mb = double(chunks[c].bytes) * rounds / (1 << 20);
        std::printf("| %s chunk (%.2f MiB) | %d | %.0f MiB/s | %.0f MiB/s | %.0f%% | %.2f / %.2f ms |\n", c == 0 ? "64 MiB" : "1 MiB",
                    chunks[c].bytes / double(1 << 20), rounds, mb / r.seconds, mb / w.seconds, 100.0 * r.seconds / w.seconds,
                    percentile(r.each, 0.5), percentile(w.each, 0.5));
    }
    QByteArray small(chunks[2].bytes, Qt::Uninitialized);
    const int n = parser.value(QStringLiteral("latency")).toInt();
    const Result r = measure(n, [&](int) { raw.fetch(2, chunks[2].bytes, small); });
    const Result w = measure(n, [&](int) { ws.fetch(chunks[2].name, small); });
    std::printf("\n| small chunk latency (%lld bytes, %d sequential fetches) | p50 | p99 |\n|---|---|---|\n", chunks[2].bytes, n);
    std::printf("| raw TCP | %.3f ms | %.3f ms |\n", percentile(r.each, 0.5), percentile(r.each, 0.99));
    std::printf("| surfing ws (get -> last piece) | %.3f ms | %.3f ms |\n", percentile(w.each, 0.5), percentile(w.each, 0.99));
    std::fflush(stdout);
    wsProcess.terminate();
    rawProcess.kill();
    wsProcess.waitForFinished();
    rawProcess.waitForFinished();
    return 0;
}
