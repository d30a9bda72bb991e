// WeightClient against a hostile weight server (HostileWeightServer, in this process): claims in
// the manifest or a chunk header that the client must check before it allocates anything. Each
// ends in a clean error naming what was wrong; none may crash the client (a chunk claimed at a
// tebibyte used to end in std::bad_alloc and SIGABRT).
#include "base/error.h"
#include "client/weightclient.h"
#include "clienttestdata.h"
#include "hostileweightserver.h"
#include "serveprocess.h"
#include "testsupport.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace surfing;
using namespace surfing::test;

namespace {

constexpr qint64 kTebibyte = qint64(1) << 40;

// What a WeightClient said, collected from its signals.
struct Outcome {
    QStringList failedCodes, failedMessages, errors;
    QHash<QString, QByteArray> received; // chunk or file name -> bytes
    bool reconnected = false;
};

void watch(WeightClient &client, Outcome &o)
{
    QObject::connect(&client, &WeightClient::requestFailed, &client,
                     [&o](quint32, const QString &, const QString &code, const QString &message) {
                         o.failedCodes << code;
                         o.failedMessages << message;
                     });
    QObject::connect(&client, &WeightClient::errorOccurred, &client, [&o](const QString &m) { o.errors << m; });
    QObject::connect(&client, &WeightClient::chunkReceived, &client,
                     [&o](quint32, const QString &name, const QByteArray &data) { o.received.insert(name, data); });
    QObject::connect(&client, &WeightClient::fileReceived, &client,
                     [&o](quint32, const QString &name, const QByteArray &data) { o.received.insert(name, data); });
    QObject::connect(&client, &WeightClient::connectionStateChanged, &client,
                     [&o](ConnectionState s) { o.reconnected |= s == ConnectionState::Reconnecting; });
}

void setChunkField(QJsonObject &manifest, const QString &chunk, const char *field, qint64 value)
{
    QJsonObject chunks = manifest.value(QLatin1String("chunks")).toObject();
    QJsonObject c = chunks.value(chunk).toObject();
    c.insert(QLatin1String(field), double(value));
    chunks.insert(chunk, c);
    manifest.insert(QStringLiteral("chunks"), chunks);
}

} // namespace

class TestHostileServer : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void chunkClaimedAtATebibyteIsNotFetched();
    void chunkDecodingToATebibyteIsNotFetched();
    void maxChunkBytesBoundsWhatIsFetched();
    void headerDisagreeingWithTheManifest();
    void fileClaimedAtATebibyte();
    void manifestOfTenMillionChunks();
    void manifestNearTheSizeLimitIsRead();
    void manifestOfTooManyChunksIsRefused();

private:
    WeightClientOptions options(const QUrl &url) const;

    QTemporaryDir m_tmp;
    QString m_chunks; // bert-random, compressed
    ExpectedChunks m_expected;
    QString m_small, m_big; // the smallest and largest chunk
};

void TestHostileServer::initTestCase()
{
    if (sharedModel(QStringLiteral("bert-random")).isEmpty())
        QSKIP("../shared/models/bert-random is not available");
    m_chunks = m_tmp.filePath(QStringLiteral("chunks"));
    QVERIFY(chunkSharedModel(QStringLiteral("bert-random"), m_chunks, {QStringLiteral("--compress")}));
    m_expected = loadExpectedChunks(m_chunks);
    const ManifestChunk *small = nullptr, *big = nullptr;
    for (const ManifestChunk &c : m_expected.manifest.chunks) {
        if (!small || c.storedBytes < small->storedBytes)
            small = &c;
        if (!big || c.storedBytes > big->storedBytes)
            big = &c;
    }
    m_small = small->name;
    m_big = big->name;
    QVERIFY(m_small != m_big);
}

WeightClientOptions TestHostileServer::options(const QUrl &url) const
{
    WeightClientOptions o;
    o.url = url;
    o.requestTimeoutMs = kWaitMs;
    o.connectTimeoutMs = kWaitMs;
    return o;
}

// The manifest says the chunk's stored bytes are a tebibyte (within what a manifest may say).
// Asking for it fails at once, naming the chunk, and nothing is sent or allocated for it; the
// connection goes on serving the next request.
void TestHostileServer::chunkClaimedAtATebibyteIsNotFetched()
{
    HostileWeightServer server(m_chunks);
    setChunkField(server.manifest, m_big, "stored_bytes", kTebibyte);
    WeightClient client(options(server.url()));
    Outcome o;
    watch(client, o);
    client.open();
    QVERIFY(server.serveUntil([&] { return client.hasManifest(); }, kWaitMs));
    client.fetchChunk(m_big, true);
    QVERIFY(server.serveUntil([&] { return !o.failedCodes.isEmpty(); }, kWaitMs));
    QCOMPARE(o.failedCodes, QStringList{QStringLiteral("memory")});
    QVERIFY2(o.failedMessages[0].contains(QStringLiteral("chunk '%1'").arg(m_big)), qPrintable(o.failedMessages[0]));
    QVERIFY2(o.failedMessages[0].contains(QLatin1String("1.00 TiB")), qPrintable(o.failedMessages[0]));

    client.fetchChunk(m_small);
    QVERIFY(server.serveUntil([&] { return o.received.contains(m_small) || o.failedCodes.size() > 1; }, kWaitMs));
    QCOMPARE(o.received.value(m_small), m_expected.decoded.value(m_small));
    QCOMPARE(server.gets, QStringList{m_small}); // the tebibyte was never asked for
}

// Stored bytes as they are, but decoding would need a tebibyte: refused before it is fetched.
void TestHostileServer::chunkDecodingToATebibyteIsNotFetched()
{
    HostileWeightServer server(m_chunks);
    setChunkField(server.manifest, m_big, "raw_bytes", kTebibyte);
    WeightClient client(options(server.url()));
    Outcome o;
    watch(client, o);
    client.open();
    QVERIFY(server.serveUntil([&] { return client.hasManifest(); }, kWaitMs));
    client.fetchChunk(m_big);
    QVERIFY(server.serveUntil([&] { return !o.failedCodes.isEmpty(); }, kWaitMs));
    QCOMPARE(o.failedCodes, QStringList{QStringLiteral("memory")});
    QVERIFY2(o.failedMessages[0].contains(QStringLiteral("chunk '%1'").arg(m_big)), qPrintable(o.failedMessages[0]));
    QVERIFY2(o.failedMessages[0].contains(QLatin1String("decode")), qPrintable(o.failedMessages[0]));
    QVERIFY(server.gets.isEmpty());
}

// A client given less memory than the largest chunk refuses that one and fetches the others.
void TestHostileServer::maxChunkBytesBoundsWhatIsFetched()
{
    HostileWeightServer server(m_chunks);
    WeightClientOptions o = options(server.url());
    o.maxChunkBytes = m_expected.manifest.find(m_big)->storedBytes - 1;
    WeightClient client(o);
    Outcome out;
    watch(client, out);
    client.open();
    QVERIFY(server.serveUntil([&] { return client.hasManifest(); }, kWaitMs));
    client.fetchChunk(m_big, true);
    client.fetchChunk(m_small, true);
    QVERIFY(server.serveUntil([&] { return !out.failedCodes.isEmpty() && out.received.contains(m_small); }, kWaitMs));
    QCOMPARE(out.failedCodes, QStringList{QStringLiteral("memory")});
    QVERIFY2(out.failedMessages[0].contains(QStringLiteral("chunk '%1'").arg(m_big)), qPrintable(out.failedMessages[0]));
    QCOMPARE(server.gets, QStringList{m_small});
}

// The manifest is right, the header announces one byte more: a protocol error naming the chunk
// and both sizes.
void TestHostileServer::headerDisagreeingWithTheManifest()
{
    HostileWeightServer server(m_chunks);
    server.adjustHeader = [](protocol::ChunkHeader &h) { h.size += 1; };
    WeightClient client(options(server.url()));
    Outcome o;
    watch(client, o);
    client.open();
    client.fetchChunk(m_big, true);
    QVERIFY(server.serveUntil([&] { return !o.failedCodes.isEmpty(); }, kWaitMs));
    QCOMPARE(o.failedCodes, QStringList{QStringLiteral("protocol")});
    const QString stored = QString::number(m_expected.manifest.find(m_big)->storedBytes);
    QVERIFY2(o.failedMessages[0].contains(QStringLiteral("chunk '%1'").arg(m_big)), qPrintable(o.failedMessages[0]));
    QVERIFY2(o.failedMessages[0].contains(QStringLiteral("the manifest says %1").arg(stored)), qPrintable(o.failedMessages[0]));
}

// Files beside the chunks have no size in the manifest; a header claiming a tebibyte for one is
// refused before anything is allocated.
void TestHostileServer::fileClaimedAtATebibyte()
{
    HostileWeightServer server(m_chunks);
    server.adjustHeader = [](protocol::ChunkHeader &h) {
        if (h.chunk == QLatin1String("config.json"))
            h.size = h.rawSize = kTebibyte;
    };
    WeightClient client(options(server.url()));
    Outcome o;
    watch(client, o);
    client.open();
    client.fetchFile(QStringLiteral("config.json"));
    client.fetchFile(QStringLiteral("vocab.txt"));
    QVERIFY(server.serveUntil([&] { return !o.failedCodes.isEmpty() && o.received.contains(QStringLiteral("vocab.txt")); }, kWaitMs));
    QCOMPARE(o.failedCodes, QStringList{QStringLiteral("protocol")});
    QVERIFY2(o.failedMessages[0].contains(QLatin1String("file 'config.json'")), qPrintable(o.failedMessages[0]));
    QCOMPARE(o.received.value(QStringLiteral("vocab.txt")), readFile(m_chunks + QStringLiteral("/vocab.txt")));
}

// A manifest reply of ten million chunks (1.3 GB of JSON): refused from the frame header, past
// the 16 MiB a server's text message may have. The client gives up at once: asking again would
// bring the same answer.
void TestHostileServer::manifestOfTenMillionChunks()
{
    HostileWeightServer server(m_chunks);
    server.claimedChunks = 10'000'000;
    WeightClient client(options(server.url()));
    Outcome o;
    watch(client, o);
    client.open();
    client.fetchChunk(m_small);
    QVERIFY(server.serveUntil([&] { return o.failedCodes.size() >= 2; }, kWaitMs)); // the manifest and the chunk
    for (const QString &message : std::as_const(o.failedMessages))
        QVERIFY2(message.contains(QLatin1String("larger than 16777216 bytes")), qPrintable(message));
    QCOMPARE(o.failedCodes, (QStringList{QStringLiteral("protocol"), QStringLiteral("protocol")}));
    QVERIFY(!client.hasManifest());
    QVERIFY(!o.reconnected);
    QCOMPARE(client.state(), ConnectionState::Disconnected);
}

// Nearly as many chunks as fit in 16 MiB of text (some 87,000) are within every limit: the manifest is
// read. (Checking its names for duplicates used to take time growing with their square.)
void TestHostileServer::manifestNearTheSizeLimitIsRead()
{
    HostileWeightServer server(m_chunks);
    constexpr qint64 kChunks = 80'000;
    server.manifestText = manifestOfManyChunks(server.modelName(), kChunks);
    QVERIFY(server.manifestText.size() < protocol::kMaxServerTextBytes - 100);
    WeightClient client(options(server.url()));
    Outcome o;
    watch(client, o);
    client.open();
    QVERIFY(server.serveUntil([&] { return client.hasManifest() || !o.errors.isEmpty(); }, kWaitMs));
    QVERIFY2(o.errors.isEmpty(), qPrintable(o.errors.join('\n')));
    QCOMPARE(client.manifest().chunks.size(), kChunks);
}

// More chunks than any model has (and more than fit in a server's message): refused by the
// manifest parser, which local chunk directories go through too, naming the limit.
void TestHostileServer::manifestOfTooManyChunksIsRefused()
{
    try {
        ChunkManifest::fromJson(manifestOfManyChunks(QStringLiteral("m"), 100'001), QStringLiteral("test manifest"));
        QFAIL("a manifest of 100001 chunks was accepted");
    } catch (const surfing::Error &e) {
        QVERIFY2(e.message().contains(QLatin1String("test manifest: field 'order' lists 100001 chunks, more than the 100000")),
                 qPrintable(e.message()));
    }
}

QTEST_GUILESS_MAIN(TestHostileServer)
#include "tst_hostileserver.moc"
