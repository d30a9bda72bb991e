// SplicedWriter over a real loopback TCP connection: frames arrive whole and in order whether
// their parts went by reference or were copied; what a full socket does not take never reaches
// the stream later (the pipe is emptied, the caller sends those bytes itself); and bytes sent by
// reference arrive as they were even when their memory is unmapped before the peer reads them,
// which is what lets ChunkSender free a chunk while its last pieces are still on their way.
#include "server/splicedwriter.h"
#include "serveprocess.h"
#include "testsupport.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <csignal>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

using namespace surfing;
using namespace surfing::test;

namespace {

struct Connection {
    int sender = -1;
    int receiver = -1;
    ~Connection()
    {
        ::close(sender);
        ::close(receiver);
    }
};

// A loopback TCP connection; the sending end non-blocking, as Qt's sockets are.
bool connectLoopback(Connection &c, int sendBufferBytes = 0)
{
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(listener, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0 || ::listen(listener, 1) != 0 ||
        ::getsockname(listener, reinterpret_cast<sockaddr *>(&address), &length) != 0)
        return false;
    c.receiver = ::socket(AF_INET, SOCK_STREAM, 0);
    if (sendBufferBytes > 0)
        ::setsockopt(c.receiver, SOL_SOCKET, SO_RCVBUF, &sendBufferBytes, sizeof sendBufferBytes);
    if (::connect(c.receiver, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0)
        return false;
    c.sender = ::accept(listener, nullptr, nullptr);
    ::close(listener);
    if (sendBufferBytes > 0)
        ::setsockopt(c.sender, SOL_SOCKET, SO_SNDBUF, &sendBufferBytes, sizeof sendBufferBytes);
    return c.sender >= 0 && ::fcntl(c.sender, F_SETFL, O_NONBLOCK) == 0;
}

QByteArray readExactly(int fd, qint64 size)
{
    QByteArray bytes(size, Qt::Uninitialized);
    qint64 got = 0;
    while (got < size) {
        const ssize_t n = ::read(fd, bytes.data() + got, size_t(size - got));
        if (n <= 0)
            return bytes.left(got);
        got += n;
    }
    return bytes;
}

// Sends every part: through `writer`, then (what the socket did not take) by plain writes once
// it has room, as ChunkSender queues the rest in the socket's buffer.
void sendAll(SplicedWriter &writer, int fd, const std::vector<SplicedWriter::Part> &parts)
{
    qint64 skip = writer.write(fd, parts);
    for (const SplicedWriter::Part &part : parts) {
        for (qint64 at = qMin(skip, part.size); at < part.size;) {
            pollfd p{fd, POLLOUT, 0};
            ::poll(&p, 1, 1000);
            const ssize_t n = ::write(fd, part.data + at, size_t(part.size - at));
            if (n > 0)
                at += n;
        }
        skip = qMax<qint64>(0, skip - part.size);
    }
}

// Anonymous memory of its own mapping, filled with a pattern that differs at every offset.
char *mappedPattern(qint64 size, int seed)
{
    void *memory = ::mmap(nullptr, size_t(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED)
        return nullptr;
    auto *bytes = static_cast<char *>(memory);
    for (qint64 i = 0; i < size; ++i)
        bytes[i] = char((i * 131 + seed) >> 3);
    return bytes;
}

} // namespace

class TestSplicedWriter : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void partsArriveInOrderWhetherSplicedOrCopied();
    void whatAFullSocketDidNotTakeNeverReachesTheStream();
    void unmappedMemoryStillArrivesAsItWas();
    void aVanishedPeerIsNoSignal();
    void aServedModelStreamsAsFromDisk();
};

void TestSplicedWriter::partsArriveInOrderWhetherSplicedOrCopied()
{
    Connection c;
    QVERIFY(connectLoopback(c));
    SplicedWriter writer;
    QVERIFY(writer.isValid());
    constexpr qint64 kLarge = 3 * 1024 * 1024 + 17; // not a whole number of pages
    char *large = mappedPattern(kLarge, 1);
    QVERIFY(large);
    const QByteArray head1("frame header one"), head2("two"), copied(100 * 1024 + 3, 'c');
    const std::vector<SplicedWriter::Part> parts{{head1.constData(), head1.size(), false},
                                                 {large, kLarge, true},
                                                 {head2.constData(), head2.size(), false},
                                                 {copied.constData(), copied.size(), false},
                                                 {large + 5, 4096, true}};
    const QByteArray expected = head1 + QByteArray(large, kLarge) + head2 + copied + QByteArray(large + 5, 4096);
    QByteArray received;
    std::thread reader([&] { received = readExactly(c.receiver, expected.size()); });
    sendAll(writer, c.sender, parts);
    reader.join();
    QCOMPARE(received.size(), expected.size());
    QVERIFY(received == expected);
    QVERIFY(writer.isValid());
    ::munmap(large, kLarge);
}

// Nobody reads: the socket takes what fits in its buffers and the writer says how much. The rest,
// still in the pipe, is dropped; sending it again from memory gives the stream once, in order.
void TestSplicedWriter::whatAFullSocketDidNotTakeNeverReachesTheStream()
{
    Connection c;
    QVERIFY(connectLoopback(c, 64 * 1024));
    SplicedWriter writer;
    constexpr qint64 kSize = 8 * 1024 * 1024;
    char *bytes = mappedPattern(kSize, 2);
    QVERIFY(bytes);
    const std::vector<SplicedWriter::Part> parts{{bytes, kSize, true}};
    const qint64 taken = writer.write(c.sender, parts);
    QVERIFY2(taken > 0 && taken < kSize, qPrintable(QString::number(taken)));
    QVERIFY(writer.isValid());
    // The next frame goes through the same writer and pipe once the rest went by plain writes.
    const QByteArray next("next frame");
    std::thread reader([&] {
        const QByteArray all = readExactly(c.receiver, kSize + next.size());
        QVERIFY(all.left(kSize) == QByteArray(bytes, kSize));
        QCOMPARE(all.mid(kSize), next);
    });
    for (qint64 at = taken; at < kSize;) {
        pollfd p{c.sender, POLLOUT, 0};
        ::poll(&p, 1, 1000);
        const ssize_t n = ::write(c.sender, bytes + at, size_t(kSize - at));
        if (n > 0)
            at += n;
    }
    sendAll(writer, c.sender, {{next.constData(), next.size(), false}});
    reader.join();
    ::munmap(bytes, kSize);
}

// ChunkSender frees a chunk when its last piece is handed to the kernel, not when the peer has
// read it: the pages stay the socket's until then and keep what they held.
void TestSplicedWriter::unmappedMemoryStillArrivesAsItWas()
{
    Connection c;
    QVERIFY(connectLoopback(c));
    SplicedWriter writer;
    constexpr qint64 kSize = 512 * 1024;
    char *bytes = mappedPattern(kSize, 3);
    QVERIFY(bytes);
    const QByteArray expected(bytes, kSize);
    const qint64 taken = writer.write(c.sender, {{bytes, kSize, true}});
    QVERIFY(taken > 0);
    ::munmap(bytes, kSize);
    // New mappings now may get other pages; fill some, so reused memory would show.
    char *other = mappedPattern(kSize, 99);
    QVERIFY(other);
    QVERIFY(readExactly(c.receiver, taken) == expected.left(taken));
    ::munmap(other, kSize);
}

// splice() to a socket whose peer is gone raises SIGPIPE, which would end this process (and the
// desktop app, whose server runs in-process) where nobody ignores it.
void TestSplicedWriter::aVanishedPeerIsNoSignal()
{
    // As in a process that never touched it (a parent may have left it ignored): the signal kills.
    const auto previous = std::signal(SIGPIPE, SIG_DFL);
    const auto restore = qScopeGuard([previous] { std::signal(SIGPIPE, previous); });
    Connection c;
    QVERIFY(connectLoopback(c));
    ::close(c.receiver);
    c.receiver = -1;
    SplicedWriter writer;
    char *bytes = mappedPattern(1024 * 1024, 4);
    QVERIFY(bytes);
    qint64 taken = 0;
    for (int i = 0; i < 50 && taken >= 0; ++i) { // the first writes may land before the reset
        const qint64 n = writer.write(c.sender, {{bytes, 1024 * 1024, true}});
        if (n == 0)
            break;
        taken += n;
    }
    sigset_t pending;
    QCOMPARE(sigpending(&pending), 0);
    QCOMPARE(sigismember(&pending, SIGPIPE), 0);
    ::munmap(bytes, 1024 * 1024);
}

// End to end through a real `surfing-cli serve`: layers of 16 MiB go by reference, a one-layer
// cache fetches them again at every token (the first receipt checked against the manifest's
// SHA-256, the later ones against their block tags), and the ids are those of the same model read
// from disk.
void TestSplicedWriter::aServedModelStreamsAsFromDisk()
{
    QTemporaryDir tmp;
    QByteArray error;
    const QString chunks = makeChunkedModel(tmp.path(), sixteenMiBLayerModelArgs(), &error);
    QVERIFY2(!chunks.isEmpty(), error.constData());
    QVERIFY(QFileInfo(chunks + QStringLiteral("/layer_0.safetensors")).size() >= 16 * 1024 * 1024);
    qputenv("QT_LOGGING_RULES", "surfing.server.splice.debug=true");
    ServeProcess server;
    const bool started = server.start({chunks, QStringLiteral("--host"), QStringLiteral("127.0.0.1")});
    qunsetenv("QT_LOGGING_RULES");
    QVERIFY(started);
    const QStringList common{QStringLiteral("--ids"), QStringLiteral("7,99,300"), QStringLiteral("--max-tokens"),
                             QStringLiteral("6"), QStringLiteral("--cache-layers"), QStringLiteral("1"), QStringLiteral("--json")};
    const CliResult remote = runCli(QStringList{QStringLiteral("run"), QStringLiteral("--server"), server.url().toString()} + common);
    QVERIFY2(remote.exitCode == 0, remote.err.constData());
    // The reference keeps every layer (the default cache): the model read from disk as plainly
    // as it can be.
    const CliResult local = runCli({QStringLiteral("run"), QStringLiteral("--local"), chunks, QStringLiteral("--ids"),
                                    QStringLiteral("7,99,300"), QStringLiteral("--max-tokens"), QStringLiteral("6"),
                                    QStringLiteral("--json")});
    QVERIFY2(local.exitCode == 0, local.err.constData());
    const QJsonObject remoteDoc = QJsonDocument::fromJson(remote.out).object();
    QCOMPARE(remoteDoc.value(QLatin1String("ids")), QJsonDocument::fromJson(local.out).object().value(QLatin1String("ids")));
    // Every token fetched a layer again at least.
    const QJsonObject stats = remoteDoc.value(QLatin1String("stats")).toObject();
    QVERIFY(stats.value(QLatin1String("bytes_per_token")).toDouble() >= 16 * 1024 * 1024);
    server.terminate();
    QVERIFY2(server.stderrText().contains("sending pieces by reference"), server.stderrText().constData());
}

QTEST_GUILESS_MAIN(TestSplicedWriter)
#include "tst_splicedwriter.moc"
