// WeightClient, RemoteChunkSource and `surfing-cli fetch` against a real `surfing-cli serve` in
// its own process over loopback: many concurrent clients, a server killed mid-fetch, corrupt
// chunks in the server's directory, tokens.
#include "base/error.h"
#include "client/remotechunksource.h"
#include "client/serverpool.h"
#include "client/weightclient.h"
#include "clienttestdata.h"
#include "format/chunkcodec.h"
#include "protocol/messages.h"
#include "protocol/piece.h"
#include "scriptedwsserver.h"
#include "serveprocess.h"
#include "testsupport.h"

#include <QDir>
#include <QJsonDocument>
#include <QSignalSpy>
#include <QEventLoop>
#include <QTemporaryDir>
#include <QtTest>
#include <atomic>
#include <thread>

using namespace surfing;
using namespace surfing::test;

class TestWeightClient : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void fetchThenVerifyRoundTrip();
    void manyConcurrentClients();
    void resumesAfterServerRestart();
    void poolSendsWhatWasAskedWhileItsOnlyServerWasDown();
    void corruptChunkOnServerIsAHashError();
    void fetchOfCorruptModelFailsAndLeavesNothing();
    void tokenIsRequired();
    void stalledRequestTimesOut();
    void getWaitingBehindAnotherDoesNotTimeOut();
    void wholeModelOverTls();
    void pieceArrivingAfterItsRequestFailed();

private:
    RemoteChunkSourceOptions sourceOptions(const QUrl &url) const;

    QTemporaryDir m_tmp;
    QString m_chunks; // bert-random, compressed
    ExpectedChunks m_expected;
};

void TestWeightClient::initTestCase()
{
    if (sharedModel(QStringLiteral("bert-random")).isEmpty())
        QSKIP("../shared/models/bert-random is not available");
    m_chunks = m_tmp.filePath(QStringLiteral("chunks"));
    QVERIFY(chunkSharedModel(QStringLiteral("bert-random"), m_chunks, {QStringLiteral("--compress")}));
    m_expected = loadExpectedChunks(m_chunks);
    QVERIFY(m_expected.manifest.chunks.size() >= 4);
}

RemoteChunkSourceOptions TestWeightClient::sourceOptions(const QUrl &url) const
{
    RemoteChunkSourceOptions o;
    o.client.url = url;
    o.client.requestTimeoutMs = 120000;
    o.cacheChunks = 2;
    return o;
}

void TestWeightClient::fetchThenVerifyRoundTrip()
{
    ServeProcess server;
    QVERIFY(server.start({m_chunks}));
    const QString out = m_tmp.filePath(QStringLiteral("mirror"));
    const CliResult fetched = runCli({QStringLiteral("fetch"), QStringLiteral("--server"), server.url().toString(),
                                      QStringLiteral("--all"), QStringLiteral("-o"), out});
    QVERIFY2(fetched.exitCode == 0, fetched.err.constData());
    const CliResult verified = runCli({QStringLiteral("verify"), out});
    QVERIFY2(verified.exitCode == 0, (verified.out + verified.err).constData());
    for (const ManifestChunk &c : m_expected.manifest.chunks)
        QVERIFY2(readFile(out + QLatin1Char('/') + c.file) == readFile(m_chunks + QLatin1Char('/') + c.file), qPrintable(c.file));
    QCOMPARE(ChunkManifest::load(out).chunks.size(), m_expected.manifest.chunks.size());

    // One chunk by name; and an existing output directory is refused, untouched.
    const QString one = m_tmp.filePath(QStringLiteral("one"));
    const QString name = m_expected.manifest.chunks.last().name;
    QCOMPARE(runCli({QStringLiteral("fetch"), QStringLiteral("--server"), server.url().toString(), name, QStringLiteral("-o"), one}).exitCode, 0);
    QVERIFY(QFile::exists(one + QLatin1Char('/') + m_expected.manifest.chunks.last().file));
    QCOMPARE(runCli({QStringLiteral("fetch"), QStringLiteral("--server"), server.url().toString(), name, QStringLiteral("-o"), one}).exitCode, 2);
    const CliResult unknown = runCli({QStringLiteral("fetch"), QStringLiteral("--server"), server.url().toString(),
                                      QStringLiteral("layer_77"), QStringLiteral("-o"), m_tmp.filePath(QStringLiteral("x"))});
    QCOMPARE(unknown.exitCode, 1);
    QVERIFY2(unknown.err.contains("layer_77"), unknown.err.constData());
}

// 32 clients, each with its own connection and network thread, fetch the whole model at once;
// every decoded byte is compared with the chunk directory.
void TestWeightClient::manyConcurrentClients()
{
    ServeProcess server;
    QVERIFY(server.start({m_chunks, QStringLiteral("--cache-mb"), QStringLiteral("64")}));
    constexpr int kClients = 32;
    std::vector<std::unique_ptr<RemoteChunkSource>> sources;
    for (int i = 0; i < kClients; ++i)
        sources.push_back(std::make_unique<RemoteChunkSource>(sourceOptions(server.url())));
    std::atomic<int> verified{0};
    std::atomic<int> wrong{0};
    QStringList errors;
    std::mutex errorsMutex;
    std::vector<std::thread> compute;
    for (auto &source : sources) {
        compute.emplace_back([&, s = source.get()] {
            const auto &chunks = m_expected.manifest.chunks;
            try {
                for (int i = 0; i < chunks.size(); ++i) {
                    if (i + 1 < chunks.size())
                        s->prefetch(chunks[i + 1].name);
                    const auto bytes = s->acquire(chunks[i].name);
                    (*bytes == m_expected.decoded.value(chunks[i].name) ? verified : wrong)++;
                }
            } catch (const surfing::Error &e) {
                std::lock_guard lock(errorsMutex);
                errors << e.message();
            }
        });
    }
    for (std::thread &t : compute)
        t.join();
    if (!errors.isEmpty())
        qWarning().noquote() << "server log:" << server.stderrText();
    QVERIFY2(errors.isEmpty(), qPrintable(errors.join(QLatin1Char('\n'))));
    QCOMPARE(wrong.load(), 0);
    QCOMPARE(verified.load(), kClients * int(m_expected.manifest.chunks.size()));
    for (auto &s : sources)
        QCOMPARE(s->fetchesStarted(), qint64(m_expected.manifest.chunks.size())); // none twice
}

// The server is killed while chunks are in flight and started again on the same port; the
// client reconnects and re-requests what was incomplete.
void TestWeightClient::resumesAfterServerRestart()
{
    ServeProcess server;
    // Paced so the fetch is still running when the first chunk has arrived.
    QVERIFY(server.start({m_chunks, QStringLiteral("--limit-mbps"), QStringLiteral("40")}));
    WeightClientOptions options;
    options.url = server.url();
    options.initialBackoffMs = 50;
    options.requestTimeoutMs = 120000;
    WeightClient client(options);
    QHash<QString, int> received;
    QStringList failures;
    bool reconnecting = false;
    QEventLoop loop;
    connect(&client, &WeightClient::chunkReceived, this,
            [&](quint32, const QString &name, const QByteArray &data, qint64, qint64, qint64) {
                received[name] += 1;
                if (data != m_expected.decoded.value(name))
                    failures << QStringLiteral("wrong bytes for ") + name;
                loop.quit();
            });
    connect(&client, &WeightClient::requestFailed, this,
            [&](quint32, const QString &, const QString &, const QString &message) { failures << message; loop.quit(); });
    connect(&client, &WeightClient::connectionStateChanged, this, [&](ConnectionState s) {
        reconnecting |= s == ConnectionState::Reconnecting;
    });
    connect(&client, &WeightClient::manifestReceived, this, [&] {
        for (const ManifestChunk &c : client.manifest().chunks)
            client.fetchChunk(c.name);
    });
    client.open();
    loop.exec(); // until the first chunk (or failure)
    QVERIFY2(failures.isEmpty(), qPrintable(failures.join(QLatin1Char('\n'))));
    const int total = int(m_expected.manifest.chunks.size());
    QVERIFY2(received.size() < total, "the whole model arrived before the server could be killed");
    server.kill();
    QVERIFY(server.restart());
    while (received.size() < total && failures.isEmpty())
        loop.exec();
    QVERIFY2(failures.isEmpty(), qPrintable(failures.join(QLatin1Char('\n'))));
    QVERIFY(reconnecting);
    QCOMPARE(received.size(), total);
    for (auto it = received.cbegin(); it != received.cend(); ++it)
        QVERIFY2(it.value() == 1, qPrintable(it.key())); // completed chunks are not fetched again
    QCOMPARE(client.state(), ConnectionState::Ready);
}

// One server behind the pool (as `run --server` through a balancer): a chunk asked for while its
// connection is down goes out once the client is back, instead of waiting parked until the
// request timeout (tst_balancer failed once so, after a replica was killed behind HAProxy).
void TestWeightClient::poolSendsWhatWasAskedWhileItsOnlyServerWasDown()
{
    ServeProcess server;
    QVERIFY(server.start({m_chunks}));
    WeightClientOptions options;
    options.initialBackoffMs = 50;
    options.requestTimeoutMs = 20000; // parked, the chunk failed after this
    ServerPool pool(options, {server.url()});
    bool ready = false, down = false;
    QStringList delivered, failed;
    connect(&pool, &ServerPool::ready, this, [&] { ready = true; });
    connect(&pool, &ServerPool::memberStateChanged, this, [&](const QUrl &, ConnectionState s) { down |= s != ConnectionState::Ready; });
    connect(&pool, &ServerPool::chunkDelivered, this, [&](const QString &name, const QByteArray &data) {
        delivered << name;
        if (data != m_expected.decoded.value(name))
            failed << QStringLiteral("wrong bytes for ") + name;
    });
    connect(&pool, &ServerPool::chunkFailed, this, [&](const QString &, const QString &message) { failed << message; });
    pool.open();
    QTRY_VERIFY_WITH_TIMEOUT(ready, kWaitMs);
    down = false; // connecting, on the way to ready, was not it
    server.kill();
    QTRY_VERIFY_WITH_TIMEOUT(down, kWaitMs);
    const QString name = m_expected.manifest.chunks.at(1).name;
    pool.fetchChunk(name);
    QVERIFY(server.restart());
    QTRY_VERIFY_WITH_TIMEOUT(!delivered.isEmpty() || !failed.isEmpty(), kWaitMs);
    QVERIFY2(failed.isEmpty(), qPrintable(failed.join(QLatin1Char('\n'))));
    QCOMPARE(delivered, QStringList{name});
    pool.close();
}

void TestWeightClient::corruptChunkOnServerIsAHashError()
{
    const QString dir = m_tmp.filePath(QStringLiteral("corrupt-served"));
    QVERIFY(copyDir(m_chunks, dir));
    const ManifestChunk bad = m_expected.manifest.chunks.at(2);
    QVERIFY(corruptFile(dir + QLatin1Char('/') + bad.file));
    ServeProcess server;
    QVERIFY(server.start({dir}));
    RemoteChunkSource source(sourceOptions(server.url()));
    QVERIFY(*source.acquire(m_expected.manifest.chunks.at(1).name) == m_expected.decoded.value(m_expected.manifest.chunks.at(1).name));
    try {
        source.acquire(bad.name);
        QFAIL("the corrupt chunk was handed out");
    } catch (const surfing::Error &e) {
        QVERIFY2(e.message().contains(QStringLiteral("chunk '%1'").arg(bad.name)), qPrintable(e.message()));
        QVERIFY2(e.message().contains(QLatin1String("SHA-256")), qPrintable(e.message()));
    }
    QVERIFY(!source.cache().contains(bad.name));
}

void TestWeightClient::fetchOfCorruptModelFailsAndLeavesNothing()
{
    const QString dir = m_tmp.filePath(QStringLiteral("corrupt-fetch"));
    QVERIFY(copyDir(m_chunks, dir));
    const ManifestChunk bad = m_expected.manifest.chunks.at(1);
    QVERIFY(corruptFile(dir + QLatin1Char('/') + bad.file));
    ServeProcess server;
    QVERIFY(server.start({dir}));
    const QString parent = m_tmp.filePath(QStringLiteral("fetch-parent"));
    QVERIFY(QDir().mkpath(parent));
    const CliResult r = runCli({QStringLiteral("fetch"), QStringLiteral("--server"), server.url().toString(),
                                QStringLiteral("--all"), QStringLiteral("-o"), parent + QStringLiteral("/out")});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains(("chunk '" + bad.name + "'").toUtf8()) && r.err.contains("SHA-256"), r.err.constData());
    QVERIFY(QDir(parent).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden).isEmpty());
}

void TestWeightClient::tokenIsRequired()
{
    ServeProcess server;
    QVERIFY(server.start({m_chunks, QStringLiteral("--token"), QStringLiteral("s3cret")}));
    RemoteChunkSourceOptions wrong = sourceOptions(server.url());
    wrong.client.token = QStringLiteral("guess");
    try {
        RemoteChunkSource source(wrong);
        QFAIL("a wrong token was accepted");
    } catch (const surfing::Error &e) {
        QVERIFY2(e.message().contains(QLatin1String("unauthorized")), qPrintable(e.message()));
    }
    RemoteChunkSourceOptions right = sourceOptions(server.url());
    right.client.token = QStringLiteral("s3cret");
    RemoteChunkSource source(right);
    const QString name = m_expected.manifest.chunks.last().name;
    QVERIFY(*source.acquire(name) == m_expected.decoded.value(name));
}

// A server that stops sending in the middle of a chunk: the request timeout fails the fetch and
// acquire() throws, naming the chunk (it used to be cancelled silently, leaving acquire() blocked).
void TestWeightClient::stalledRequestTimesOut()
{
    ServeProcess server;
    // 125 bytes/s: the first piece goes out, the next one would take half an hour.
    QVERIFY(server.start({m_chunks, QStringLiteral("--limit-mbps"), QStringLiteral("0.001")}));
    const ManifestChunk *big = nullptr;
    for (const ManifestChunk &c : m_expected.manifest.chunks) {
        if (!big || c.storedBytes > big->storedBytes)
            big = &c;
    }
    QVERIFY2(big->storedBytes > 2 * 256 * 1024, "the test needs a chunk of several pieces");
    RemoteChunkSourceOptions options = sourceOptions(server.url());
    options.client.requestTimeoutMs = 500;
    RemoteChunkSource source(options);
    try {
        source.acquire(big->name);
        QFAIL("a stalled fetch returned bytes");
    } catch (const surfing::Error &e) {
        QVERIFY2(e.message().contains(QStringLiteral("chunk '%1'").arg(big->name)), qPrintable(e.message()));
        QVERIFY2(e.message().contains(QLatin1String("no progress")), qPrintable(e.message()));
    }
}

// The server sends a connection's gets one after the other: a get queued behind a slow transfer
// sees none of its own pieces for longer than the request timeout, and must not fail for it
// while the transfer ahead of it is still making progress.
void TestWeightClient::getWaitingBehindAnotherDoesNotTimeOut()
{
    ServeProcess server;
    // 1 MB/s: a 256 KiB piece every quarter of a second, a layer of ~680 KB in about 0.7 s.
    QVERIFY(server.start({m_chunks, QStringLiteral("--limit-mbps"), QStringLiteral("8")}));
    const ManifestChunk *first = m_expected.manifest.find(QStringLiteral("layer_0"));
    const ManifestChunk *second = m_expected.manifest.find(QStringLiteral("layer_1"));
    QVERIFY(first && second);
    QVERIFY2(first->storedBytes > 2 * 256 * 1024, "the transfer ahead must take longer than the timeout");
    RemoteChunkSourceOptions options = sourceOptions(server.url());
    options.client.requestTimeoutMs = 500;
    RemoteChunkSource source(options);
    QVERIFY(source.prefetch(first->name));
    try {
        QCOMPARE(*source.acquire(second->name), m_expected.decoded.value(second->name));
        QCOMPARE(*source.acquire(first->name), m_expected.decoded.value(first->name));
    } catch (const surfing::Error &e) {
        QFAIL(qPrintable(e.message()));
    }
}

// wss:// end to end: `serve --tls-cert --tls-key` with a certificate made here; a client that
// trusts it fetches every chunk (bytes compared), one that does not is refused with an error.
void TestWeightClient::wholeModelOverTls()
{
    QString cert, key;
    const QString certError = makeSelfSignedCertificate(m_tmp.path(), &cert, &key);
    QVERIFY2(certError.isEmpty(), qPrintable(certError));
    ServeProcess server;
    QVERIFY(server.start({m_chunks, QStringLiteral("--tls-cert"), cert, QStringLiteral("--tls-key"), key}));
    QCOMPARE(server.url().scheme(), QStringLiteral("wss"));

    RemoteChunkSourceOptions trusting = sourceOptions(server.url());
    trusting.client.caCertificateFile = cert;
    {
        RemoteChunkSource source(trusting);
        for (const ManifestChunk &c : m_expected.manifest.chunks)
            QVERIFY2(*source.acquire(c.name) == m_expected.decoded.value(c.name), qPrintable(c.name));
        QCOMPARE(source.fetchesStarted(), qint64(m_expected.manifest.chunks.size()));
    }

    RemoteChunkSourceOptions untrusting = sourceOptions(server.url());
    untrusting.client.maxReconnectAttempts = 1;
    try {
        RemoteChunkSource refused(untrusting);
        QFAIL("a client that does not trust the certificate got in");
    } catch (const surfing::Error &e) {
        QVERIFY2(e.message().contains(server.url().toDisplayString()), qPrintable(e.message()));
        QVERIFY2(e.message().contains(QLatin1String("certificate")), qPrintable(e.message()));
    }
    QVERIFY(server.isRunning());
}

// The client writes a piece's payload straight into its request's buffer. Here the request
// times out while its first piece is half there; the rest of that piece and the next ones then
// arrive for a request that no longer exists. They must be dropped (not written into freed
// memory) and the connection must go on serving the next request. A scripted server, because
// a real one never stops in the middle of a piece.
void TestWeightClient::pieceArrivingAfterItsRequestFailed()
{
    const ManifestChunk *big = nullptr, *small = nullptr;
    for (const ManifestChunk &c : m_expected.manifest.chunks) {
        if (!big || c.storedBytes > big->storedBytes)
            big = &c;
        if (!small || c.storedBytes < small->storedBytes)
            small = &c;
    }
    QVERIFY(big->storedBytes > 2 * protocol::kMaxPieceBytes);
    ScriptedServer server;
    WeightClientOptions options;
    options.url = server.url();
    options.requestTimeoutMs = 300;
    WeightClient client(options);
    QSignalSpy failed(&client, &WeightClient::requestFailed);
    QSignalSpy received(&client, &WeightClient::chunkReceived);
    QSignalSpy manifest(&client, &WeightClient::manifestReceived);
    client.open();
    QVERIFY(server.handshake());
    QVERIFY(server.readText().contains("\"hello\""));
    protocol::Welcome welcome;
    welcome.models = {m_expected.manifest.modelName};
    welcome.defaultModel = m_expected.manifest.modelName;
    server.write(frame(protocol::FrameType::Text, protocol::encodeWelcome(welcome)));
    const auto requestId = [&](const char *type) {
        for (int i = 0; i < 5; ++i) {
            const QJsonObject o = QJsonDocument::fromJson(server.readText()).object();
            if (o.value(QLatin1String("type")).toString() == QLatin1String(type))
                return quint32(o.value(QLatin1String("id")).toInteger());
        }
        return quint32(0);
    };
    const quint32 manifestId = requestId("manifest");
    QVERIFY(manifestId);
    const QJsonObject manifestJson = QJsonDocument::fromJson(readFile(m_chunks + QStringLiteral("/chunk_info.json"))).object();
    server.write(frame(protocol::FrameType::Text, protocol::encodeManifestReply(manifestId, m_expected.manifest.modelName, manifestJson)));
    QVERIFY(manifest.wait());

    const auto header = [&](quint32 id, const ManifestChunk &c) {
        protocol::ChunkHeader h;
        h.id = id;
        h.model = m_expected.manifest.modelName;
        h.chunk = c.name;
        h.size = c.storedBytes;
        h.rawSize = c.rawBytes;
        h.codec = codecName(c.codec);
        h.sha256 = c.sha256;
        h.pieces = protocol::pieceCount(c.storedBytes);
        return frame(protocol::FrameType::Text, protocol::encodeChunkHeader(h));
    };
    const auto pieces = [&](quint32 id, const QByteArray &bytes) {
        QByteArray out;
        for (quint32 i = 0; i < protocol::pieceCount(bytes.size()); ++i) {
            const QByteArray payload = bytes.mid(qsizetype(i) * protocol::kMaxPieceBytes, protocol::kMaxPieceBytes);
            out += protocol::encodePieceFrameHeader(id, i, payload.size()) + payload;
        }
        return out;
    };

    const quint32 bigId = client.fetchChunk(big->name, true);
    QCOMPARE(requestId("get"), bigId);
    const QByteArray bigWire = header(bigId, *big) + pieces(bigId, readFile(m_chunks + QLatin1Char('/') + big->file));
    const qsizetype cut = bigWire.indexOf(protocol::encodePieceFrameHeader(bigId, 0, protocol::kMaxPieceBytes)) + protocol::kMaxPieceBytes / 2;
    server.write(bigWire.left(cut)); // the header, and half of the first piece
    QVERIFY(failed.wait(10000));
    QCOMPARE(failed.at(0).at(0).toUInt(), bigId);
    QVERIFY2(failed.at(0).at(3).toString().contains(QLatin1String("no progress")), qPrintable(failed.at(0).at(3).toString()));
    server.write(bigWire.mid(cut)); // the rest arrives all the same

    const quint32 smallId = client.fetchChunk(small->name);
    QCOMPARE(requestId("get"), smallId); // after the cancel of the first
    server.write(header(smallId, *small) + pieces(smallId, readFile(m_chunks + QLatin1Char('/') + small->file)));
    QVERIFY(received.wait());
    QCOMPARE(received.at(0).at(0).toUInt(), smallId);
    QCOMPARE(received.at(0).at(2).toByteArray(), m_expected.decoded.value(small->name));
    QCOMPARE(failed.count(), 1);
}

QTEST_GUILESS_MAIN(TestWeightClient)
#include "tst_weightclient.moc"
