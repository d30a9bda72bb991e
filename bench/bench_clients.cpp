// Many-clients benchmark: N clients (default 32) each fetch a whole model from one
// `surfing-cli serve` process with a given --cache-mb, all at once, over loopback. Reports the
// aggregate throughput and the server's peak RSS (VmHWM from /proc/PID/status), beside a raw
// TCP baseline measured in the same run: N TCP streams of the same bytes from a helper process
// that holds the model in memory. Clients run in this process, one event loop for all of them
// (the same for both transports); they count and size-check every chunk but do not hash it.
//
//   bench_clients --cli PATH/surfing-cli [--clients 32] [--model-mb 512] [--chunk-mb 16] [--cache-mb 128]
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
#include <QFileInfo>
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
#include <functional>
#include <memory>

using namespace surfing;

namespace {

// `count` chunks of `bytes` random (incompressible) bytes each; returns their files.
QStringList makeChunkDir(const QString &dir, int count, qint64 bytes)
{
    QDir().mkpath(dir);
    ChunkManifest m;
    m.modelName = QStringLiteral("clients-bench");
    m.modelType = QStringLiteral("llama");
    m.family = ModelFamily::Llama;
    m.numLayers = count;
    m.createdBy = QStringLiteral("bench_clients");
    QStringList files;
    for (int i = 0; i < count; ++i) {
        QByteArray data(bytes - 128, Qt::Uninitialized); // leaves room for the header
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
        files << f.fileName();
    }
    QFile manifest(dir + QStringLiteral("/chunk_info.json"));
    if (!manifest.open(QIODevice::WriteOnly) || manifest.write(m.toJson()) <= 0)
        qFatal("cannot write the manifest");
    return files;
}

void waitUntil(const std::function<bool()> &done)
{
    QEventLoop loop;
    while (!done())
        loop.processEvents(QEventLoop::WaitForMoreEvents);
}

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

QByteArray readLine(QProcess &p)
{
    QByteArray line;
    while (!line.contains('\n') && p.waitForReadyRead(120000))
        line += p.readAllStandardOutput();
    return line.trimmed();
}

// ---- raw TCP baseline ------------------------------------------------------------------------

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
    server.setMaxPendingConnections(1024);
    if (!server.listen(QHostAddress::LocalHost, 0))
        return 1;
    std::printf("%d\n", server.serverPort());
    std::fflush(stdout);
    QObject::connect(&server, &QTcpServer::newConnection, [&] {
        while (QTcpSocket *s = server.nextPendingConnection()) {
            s->setSocketOption(QAbstractSocket::LowDelayOption, 1);
            QObject::connect(s, &QTcpSocket::readyRead, s, [s, &data] {
                while (s->bytesAvailable() >= 4) {
                    quint32 index;
                    s->read(reinterpret_cast<char *>(&index), 4);
                    s->write(data.value(int(qFromLittleEndian(index))));
                }
            });
        }
    });
    return QCoreApplication::exec();
}

class RawStream : public QObject
{
public:
    // `chunkBytes`: the size of every chunk file (they are all alike).
    RawStream(quint16 port, int chunks, qint64 chunkBytes) : m_chunks(chunks), m_chunkBytes(chunkBytes)
    {
        connect(&m_socket, &QTcpSocket::connected, this, [this] {
            m_socket.setSocketOption(QAbstractSocket::LowDelayOption, 1);
            request();
        });
        connect(&m_socket, &QTcpSocket::readyRead, this, [this] {
            while (m_socket.bytesAvailable() > 0 && !done()) {
                m_got += m_socket.read(m_sink.data(), qMin<qint64>(m_sink.size(), m_chunkBytes - m_got));
                if (m_got == m_chunkBytes) {
                    ++m_next;
                    m_got = 0;
                    request();
                }
            }
        });
        m_sink.resize(1 << 20);
        m_socket.connectToHost(QHostAddress::LocalHost, port);
    }
    bool done() const { return m_next >= m_chunks; }
    qint64 bytes() const { return qint64(m_next) * m_chunkBytes; }

private:
    void request()
    {
        if (done())
            return;
        const quint32 le = qToLittleEndian(quint32(m_next));
        m_socket.write(reinterpret_cast<const char *>(&le), 4);
    }

    QTcpSocket m_socket;
    QByteArray m_sink;
    int m_chunks;
    qint64 m_chunkBytes;
    int m_next = 0;
    qint64 m_got = 0;
};

// ---- the weight server -----------------------------------------------------------------------

class WsStream : public QObject
{
public:
    WsStream(const QUrl &url, int chunks) : m_chunks(chunks)
    {
        connect(&m_socket, &QWebSocket::connected, this, [this] {
            m_socket.sendTextMessage(QStringLiteral(R"({"type":"hello","protocol":1,"client":"bench_clients"})"));
        });
        connect(&m_socket, &QWebSocket::textMessageReceived, this, &WsStream::onText);
        connect(&m_socket, &QWebSocket::binaryMessageReceived, this, &WsStream::onBinary);
        m_socket.setMaxAllowedIncomingMessageSize(64 * 1024 * 1024);
        m_socket.open(url);
    }
    bool done() const { return m_next >= m_chunks; }
    qint64 bytes() const { return m_bytes; }

private:
    void onText(const QString &text)
    {
        const QJsonObject o = QJsonDocument::fromJson(text.toUtf8()).object();
        const QString type = o.value(QLatin1String("type")).toString();
        if (type == QLatin1String("welcome"))
            return request();
        if (type != QLatin1String("chunk"))
            qFatal("unexpected reply: %s", qPrintable(text));
        m_expected = qint64(o.value(QLatin1String("size")).toDouble());
        m_got = 0;
        m_piecesLeft = qint64(o.value(QLatin1String("pieces")).toDouble());
    }
    void onBinary(const QByteArray &message)
    {
        const std::optional<protocol::Piece> p = protocol::parsePiece(message, 64 * 1024 * 1024);
        if (!p || p->requestId != quint32(m_next + 1))
            qFatal("bad piece");
        m_got += p->payload.size();
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
            m_socket.sendTextMessage(QStringLiteral(R"({"type":"get","id":%1,"chunk":"layer_%2"})").arg(m_next + 1).arg(m_next));
    }

    QWebSocket m_socket;
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

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    protocol::keepTransferMemoryResident(); // as WeightClient does
    if (argc > 1 && QByteArray(argv[1]) == "--raw-server")
        return runRawServer(app.arguments().mid(2));
    QCommandLineParser parser;
    parser.addHelpOption();
    parser.addOptions({{QStringLiteral("cli"), QStringLiteral("Path of surfing-cli."), QStringLiteral("PATH")},
                       {QStringLiteral("clients"), QStringLiteral("Concurrent clients (default 32)."), QStringLiteral("N"), QStringLiteral("32")},
                       {QStringLiteral("model-mb"), QStringLiteral("Model size in MiB (default 512)."), QStringLiteral("MB"), QStringLiteral("512")},
                       {QStringLiteral("chunk-mb"), QStringLiteral("Chunk size in MiB (default 16)."), QStringLiteral("MB"), QStringLiteral("16")},
                       {QStringLiteral("cache-mb"), QStringLiteral("Server cache budget in MiB (default 128)."), QStringLiteral("MB"), QStringLiteral("128")}});
    parser.process(app);
    if (!parser.isSet(QStringLiteral("cli")))
        qFatal("--cli PATH/surfing-cli is required");
    const int clients = parser.value(QStringLiteral("clients")).toInt();
    const qint64 chunkBytes = parser.value(QStringLiteral("chunk-mb")).toLongLong() << 20;
    const int chunks = int(qMax<qint64>(1, (parser.value(QStringLiteral("model-mb")).toLongLong() << 20) / chunkBytes));
    const QString cacheMb = parser.value(QStringLiteral("cache-mb"));

    QTemporaryDir work;
    const QString dir = work.filePath(QStringLiteral("chunks"));
    const QStringList files = makeChunkDir(dir, chunks, chunkBytes);

    QProcess raw;
    raw.start(QCoreApplication::applicationFilePath(), QStringList{QStringLiteral("--raw-server")} + files);
    const quint16 rawPort = quint16(readLine(raw).toUInt());
    const double rawMiBs = runAll<RawStream>(clients, rawPort, chunks, QFileInfo(files.first()).size());
    raw.kill();
    raw.waitForFinished();

    QProcess serve;
    serve.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    serve.start(parser.value(QStringLiteral("cli")), {QStringLiteral("serve"), dir, QStringLiteral("--port"), QStringLiteral("0"),
                                                      QStringLiteral("--cache-mb"), cacheMb});
    const QUrl url(QString::fromUtf8(readLine(serve)));
    if (!url.isValid())
        qFatal("surfing-cli serve did not start");
    const qint64 idleKb = procStatusKb(serve.processId(), "VmRSS");
    const double wsMiBs = runAll<WsStream>(clients, url, chunks);
    const qint64 peakKb = procStatusKb(serve.processId(), "VmHWM");
    serve.terminate();
    serve.waitForFinished();

    const double limitMiB = cacheMb.toDouble() + 200;
    const double peakMiB = peakKb / 1024.0;
    std::printf("| clients | model | server cache | raw TCP aggregate | surfing ws aggregate | ws / raw |"
                " server RSS idle | server peak RSS (VmHWM) | limit (cache + 200 MiB) |\n"
                "|---|---|---|---|---|---|---|---|---|\n");
    std::printf("| %d | %d x %lld MiB | %s MiB | %.0f MiB/s | %.0f MiB/s | %.0f%% | %.0f MiB | %.0f MiB | %.0f MiB (%s) |\n",
                clients, chunks, chunkBytes >> 20, qPrintable(cacheMb), rawMiBs, wsMiBs, 100.0 * wsMiBs / rawMiBs,
                idleKb / 1024.0, peakMiB, limitMiB, peakKb > 0 && peakMiB <= limitMiB ? "met" : "NOT met");
    std::fflush(stdout);
    return 0;
}
