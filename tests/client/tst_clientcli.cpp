// `surfing-cli fetch` and `run` failing cleanly, end to end: against a hostile server
// (HostileWeightServer, answering from this process), interrupted by SIGINT/SIGTERM, on a full
// disk, and pointed at the wrong scheme (wss:// to a plain server, ws:// to a TLS one) of a real
// `surfing-cli serve`. Every case exits 1 with a message that says what was wrong, and leaves no
// partial copy behind.
#include "hostileweightserver.h"
#include "serveprocess.h"
#include "testsupport.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QScopeGuard>
#include <QTemporaryDir>
#include <QtTest>
#include <csignal>

using namespace surfing::test;

namespace {

constexpr qint64 kTebibyte = qint64(1) << 40;

// Everything in `dir`, hidden entries too.
QStringList entries(const QString &dir)
{
    return QDir(dir).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden);
}

// Runs surfing-cli while `server` answers it; `during`, if given, runs once `ready` holds.
CliResult runAgainst(HostileWeightServer &server, const QStringList &args, const std::function<bool()> &ready = {},
                     const std::function<void(QProcess &)> &during = {})
{
    QProcess process;
    bool finished = false;
    QObject::connect(&process, &QProcess::finished, [&finished] { finished = true; });
    process.start(cliPath(), args);
    CliResult result;
    if (!process.waitForStarted(kWaitMs))
        return result;
    if (ready && server.serveUntil([&] { return finished || ready(); }, kWaitMs) && !finished)
        during(process);
    if (!server.serveUntil([&] { return finished; }, kWaitMs)) {
        process.kill();
        process.waitForFinished();
    }
    result.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    result.out = process.readAllStandardOutput();
    result.err = process.readAllStandardError();
    return result;
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

class TestClientCli : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void fetchOfATebibyteChunk();
    void fetchWithAHeaderDisagreeing();
    void fetchOfTenMillionChunks();
    void runOfATebibyteChunk();
    void interruptedFetchLeavesNothing_data();
    void interruptedFetchLeavesNothing();
    void fullDiskIsNamed();
    void tlsToAPlainServer();
    void plainToATlsServer();
    void outOfMemoryIsAnError();

private:
    QString freshParent(const QString &name); // an empty directory to fetch into
    QStringList fetchArgs(const QUrl &url, const QString &out) const;

    QTemporaryDir m_tmp;
    QString m_chunks; // bert-random, compressed
    QString m_first;  // the chunk `run` needs first
};

void TestClientCli::initTestCase()
{
    if (sharedModel(QStringLiteral("bert-random")).isEmpty())
        QSKIP("../shared/models/bert-random is not available");
    m_chunks = m_tmp.filePath(QStringLiteral("chunks"));
    QVERIFY(chunkSharedModel(QStringLiteral("bert-random"), m_chunks, {QStringLiteral("--compress")}));
    m_first = readJsonObject(m_chunks + QStringLiteral("/chunk_info.json")).value(QLatin1String("order")).toArray().at(0).toString();
    QCOMPARE(m_first, QStringLiteral("embeddings"));
}

QString TestClientCli::freshParent(const QString &name)
{
    const QString dir = m_tmp.filePath(name);
    return QDir().mkpath(dir) ? dir : QString();
}

QStringList TestClientCli::fetchArgs(const QUrl &url, const QString &out) const
{
    return {QStringLiteral("fetch"), QStringLiteral("--server"), url.toString(), QStringLiteral("--all"), QStringLiteral("-o"), out};
}

// It used to end in std::bad_alloc, SIGABRT and OUT.partial-* left behind.
void TestClientCli::fetchOfATebibyteChunk()
{
    HostileWeightServer server(m_chunks);
    setChunkField(server.manifest, m_first, "stored_bytes", kTebibyte);
    const QString parent = freshParent(QStringLiteral("tebibyte"));
    const CliResult r = runAgainst(server, fetchArgs(server.url(), parent + QStringLiteral("/out")));
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("chunk '" + m_first.toUtf8() + "'") && r.err.contains("memory"), r.err.constData());
    QVERIFY(!server.gets.contains(m_first));
    QCOMPARE(entries(parent), QStringList());
}

void TestClientCli::fetchWithAHeaderDisagreeing()
{
    HostileWeightServer server(m_chunks);
    server.adjustHeader = [this](surfing::protocol::ChunkHeader &h) {
        if (h.chunk == m_first)
            h.size *= 2;
    };
    const QString parent = freshParent(QStringLiteral("header"));
    const CliResult r = runAgainst(server, fetchArgs(server.url(), parent + QStringLiteral("/out")));
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("chunk '" + m_first.toUtf8() + "'") && r.err.contains("the manifest says"), r.err.constData());
    QCOMPARE(entries(parent), QStringList());
}

void TestClientCli::fetchOfTenMillionChunks()
{
    HostileWeightServer server(m_chunks);
    server.claimedChunks = 10'000'000;
    const QString parent = freshParent(QStringLiteral("ten-million"));
    const CliResult r = runAgainst(server, fetchArgs(server.url(), parent + QStringLiteral("/out")));
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("larger than 16777216 bytes"), r.err.constData());
    QCOMPARE(entries(parent), QStringList());
}

// `run` decodes what it fetches: the manifest's claim is checked the same way.
void TestClientCli::runOfATebibyteChunk()
{
    HostileWeightServer server(m_chunks);
    setChunkField(server.manifest, m_first, "stored_bytes", kTebibyte);
    const CliResult r = runAgainst(server, {QStringLiteral("run"), QStringLiteral("--server"), server.url().toString(),
                                            QStringLiteral("--prompt"), QStringLiteral("hello world")});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("chunk '" + m_first.toUtf8() + "'") && r.err.contains("memory"), r.err.constData());
    QVERIFY(!server.gets.contains(m_first));
}

void TestClientCli::interruptedFetchLeavesNothing_data()
{
    QTest::addColumn<int>("signal");
    QTest::newRow("SIGINT") << SIGINT;
    QTest::newRow("SIGTERM") << SIGTERM;
}

// The server stops halfway through the largest chunk; the others are in the staging directory
// when the signal comes. Nothing may be left of them.
void TestClientCli::interruptedFetchLeavesNothing()
{
    QFETCH(int, signal);
    HostileWeightServer server(m_chunks);
    server.stallAfterBytes = 300 * 1024;
    const QString parent = freshParent(QStringLiteral("interrupted-%1").arg(signal));
    const auto stagedFiles = [&parent] {
        for (const QString &e : entries(parent)) {
            if (!QDir(parent + QLatin1Char('/') + e).isEmpty())
                return true;
        }
        return false;
    };
    const CliResult r = runAgainst(server, fetchArgs(server.url(), parent + QStringLiteral("/out")), stagedFiles,
                                   [signal](QProcess &p) { ::kill(pid_t(p.processId()), signal); });
    QVERIFY2(r.exitCode == 1, r.err.constData());
    QVERIFY2(r.err.contains("interrupted by " + QByteArray(signal == SIGINT ? "SIGINT" : "SIGTERM")), r.err.constData());
    QCOMPARE(entries(parent), QStringList());
}

// A 1 MiB tmpfs (this needs root; skipped elsewhere): the model's chunks do not fit. The error
// says that the disk is full and names the file; nothing is left on the disk.
void TestClientCli::fullDiskIsNamed()
{
    const QString disk = freshParent(QStringLiteral("small-disk"));
    if (QProcess::execute(QStringLiteral("mount"), {QStringLiteral("-t"), QStringLiteral("tmpfs"), QStringLiteral("-o"),
                                                    QStringLiteral("size=1m"), QStringLiteral("tmpfs"), disk}) != 0)
        QSKIP("cannot mount a small tmpfs here (not root?)");
    const auto unmount = qScopeGuard([&disk] { QProcess::execute(QStringLiteral("umount"), {disk}); });
    ServeProcess server;
    QVERIFY(server.start({m_chunks}));
    const CliResult r = runCli(fetchArgs(server.url(), disk + QStringLiteral("/out")));
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("the disk is full"), r.err.constData());
    QVERIFY2(r.err.contains("cannot write " + disk.toUtf8() + "/."), r.err.constData()); // a file in the staging dir
    QCOMPARE(entries(disk), QStringList());
}

// wss:// to a plain server: the server waits for an HTTP request and never answers the TLS
// handshake. --timeout bounds the wait (it used to take 162 s of retries) and the message says
// what is likely wrong.
void TestClientCli::tlsToAPlainServer()
{
    ServeProcess server;
    QVERIFY(server.start({m_chunks}));
    QUrl url = server.url();
    url.setScheme(QStringLiteral("wss"));
    const QString parent = freshParent(QStringLiteral("tls-to-plain"));
    const CliResult fetched = runCli(fetchArgs(url, parent + QStringLiteral("/out")) + QStringList{QStringLiteral("--timeout"), QStringLiteral("2")});
    QCOMPARE(fetched.exitCode, 1);
    QVERIFY2(fetched.err.contains("did not answer the TLS handshake within 2 s") && fetched.err.contains("ws://"), fetched.err.constData());
    QCOMPARE(entries(parent), QStringList());

    const CliResult ran = runCli({QStringLiteral("run"), QStringLiteral("--server"), url.toString(), QStringLiteral("--prompt"),
                                  QStringLiteral("hello"), QStringLiteral("--timeout"), QStringLiteral("2")});
    QCOMPARE(ran.exitCode, 1);
    QVERIFY2(ran.err.contains("did not answer the TLS handshake within 2 s"), ran.err.constData());
    QVERIFY(server.isRunning());
}

// ws:// to a TLS server: it drops the connection on the plain HTTP request; said at once.
void TestClientCli::plainToATlsServer()
{
    QString cert, key;
    const QString certError = makeSelfSignedCertificate(m_tmp.path(), &cert, &key);
    QVERIFY2(certError.isEmpty(), qPrintable(certError));
    ServeProcess server;
    QVERIFY(server.start({m_chunks, QStringLiteral("--tls-cert"), cert, QStringLiteral("--tls-key"), key}));
    QUrl url = server.url();
    url.setScheme(QStringLiteral("ws"));
    const QString parent = freshParent(QStringLiteral("plain-to-tls"));
    const CliResult r = runCli(fetchArgs(url, parent + QStringLiteral("/out")));
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("wss://") && r.err.contains(url.toDisplayString().toUtf8()), r.err.constData());
    QCOMPARE(entries(parent), QStringList());
}

// Any command that meets std::bad_alloc exits 1 with a message, not SIGABRT: here `verify` of a
// chunk that is 4 GiB (sparse) under a 1 GB address-space limit.
void TestClientCli::outOfMemoryIsAnError()
{
    const QString dir = m_tmp.filePath(QStringLiteral("too-big"));
    QVERIFY(QDir().mkpath(dir));
    for (const QString &name : QDir(m_chunks).entryList(QDir::Files))
        QVERIFY(QFile::copy(m_chunks + QLatin1Char('/') + name, dir + QLatin1Char('/') + name));
    QJsonObject manifest = readJsonObject(dir + QStringLiteral("/chunk_info.json"));
    const QString chunk = QStringLiteral("layer_0");
    QJsonObject chunks = manifest.value(QLatin1String("chunks")).toObject();
    QJsonObject entry = chunks.value(chunk).toObject();
    entry.insert(QStringLiteral("stored_bytes"), double(qint64(4) << 30));
    chunks.insert(chunk, entry);
    manifest.insert(QStringLiteral("chunks"), chunks);
    QFile json(dir + QStringLiteral("/chunk_info.json"));
    QVERIFY(json.open(QIODevice::WriteOnly | QIODevice::Truncate));
    json.write(QJsonDocument(manifest).toJson());
    json.close();
    QVERIFY(QFile::resize(dir + QLatin1Char('/') + entry.value(QLatin1String("file")).toString(), qint64(4) << 30));

    QProcess process;
    process.start(QStringLiteral("/bin/sh"), {QStringLiteral("-c"), QStringLiteral("ulimit -v 1000000 && exec \"$0\" verify \"$1\""),
                                              cliPath(), dir});
    QVERIFY(process.waitForFinished(kWaitMs));
    const QByteArray err = process.readAllStandardError();
    QCOMPARE(process.exitStatus(), QProcess::NormalExit);
    QVERIFY2(process.exitCode() == 1, err.constData());
    QVERIFY2(err.contains("surfing-cli verify: error: out of memory"), err.constData());
}

QTEST_GUILESS_MAIN(TestClientCli)
#include "tst_clientcli.moc"
