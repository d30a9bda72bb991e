// core/client/modelopener: the one way the desktop app, `surfing-cli run` and the benchmarks open
// a model, from a chunk folder or from a real `surfing-cli serve` process.
#include "serveprocess.h"
#include "testsupport.h"

#include "base/error.h"
#include "client/modelopener.h"

#include <QDir>
#include <QFile>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QtTest>
#include <atomic>

using namespace surfing;
using namespace surfing::test;

class TestModelOpener : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        if (sharedModel("stories260K").isEmpty())
            QSKIP("../shared/models is not beside the checkout");
        QVERIFY(m_tmp.isValid());
        m_chunks = m_tmp.filePath(QStringLiteral("chunks"));
        QVERIFY(chunkSharedModel(QStringLiteral("stories260K"), m_chunks));
        QVERIFY(m_server.start({m_chunks, QStringLiteral("--host"), QStringLiteral("127.0.0.1"), QStringLiteral("--token"), QStringLiteral("s3cret")}));
    }

    void serverUrlsAreChecked()
    {
        QCOMPARE(parseServerUrl(QStringLiteral(" ws://127.0.0.1:8765/m ")), QUrl(QStringLiteral("ws://127.0.0.1:8765/m")));
        QCOMPARE(parseServerUrl(QStringLiteral("wss://host:1")).scheme(), QStringLiteral("wss"));
        for (const QString &bad : {QStringLiteral("http://127.0.0.1:8765"), QStringLiteral("127.0.0.1:8765"), QStringLiteral("ws://"), QString()}) {
            try {
                parseServerUrl(bad);
                QFAIL(qPrintable(QStringLiteral("accepted '%1'").arg(bad)));
            } catch (const Error &e) {
                QVERIFY2(e.message().contains(QStringLiteral("ws://HOST:PORT")), qPrintable(e.message()));
            }
        }
    }

    void opensAChunkFolder()
    {
        ModelOpenOptions o;
        o.chunkDir = m_chunks;
        const OpenedModel opened = openModel(o);
        QVERIFY(opened.source);
        QVERIFY(!opened.isRemote);
        QCOMPARE(opened.filesDir, m_chunks);
        QCOMPARE(opened.source->manifest().modelName, QStringLiteral("stories260K"));
    }

    void aFolderThatIsNoChunkFolderIsNamed()
    {
        ModelOpenOptions o;
        o.chunkDir = m_tmp.path();
        try {
            openModel(o);
            QFAIL("opened a folder without chunk_info.json");
        } catch (const Error &e) {
            QVERIFY2(e.message().contains(m_tmp.path()), qPrintable(e.message()));
        }
    }

    // From a server: config.json and the tokenizer files land in a staging folder, byte for byte.
    void fetchesTheModelFilesFromAServer()
    {
        ModelOpenOptions o;
        o.serverUrl = m_server.url();
        o.token = QStringLiteral("s3cret");
        std::atomic_int changes{0};
        o.connectionStateChanged = [&changes](ConnectionState) { ++changes; };
        const OpenedModel opened = openModel(o);
        QVERIFY(opened.isRemote);
        QVERIFY(opened.staging);
        QVERIFY(changes > 0);
        const QStringList files = opened.source->manifest().fileNames();
        QVERIFY(files.contains(QStringLiteral("config.json")));
        for (const QString &name : files)
            QCOMPARE(readFile(QDir(opened.filesDir).filePath(name)), readFile(QDir(m_chunks).filePath(name)));
    }

    // The app's own server: the files are on this disk already, nothing is fetched.
    void usesTheLocalFilesOfAnInProcessServer()
    {
        ModelOpenOptions o;
        o.serverUrl = m_server.url();
        o.token = QStringLiteral("s3cret");
        o.chunkDir = m_chunks;
        const OpenedModel opened = openModel(o);
        QCOMPARE(opened.filesDir, m_chunks);
        QVERIFY(!opened.staging);
    }

    void aWrongTokenSaysSo()
    {
        ModelOpenOptions o;
        o.serverUrl = m_server.url();
        o.token = QStringLiteral("wrong");
        try {
            openModel(o);
            QFAIL("opened with a wrong token");
        } catch (const Error &e) {
            QVERIFY2(e.message().contains(QStringLiteral("token"), Qt::CaseInsensitive), qPrintable(e.message()));
        }
    }

    // Nothing listens: the attempts are reported while they happen, then a clear error.
    void aDeadServerFailsAfterItsAttempts()
    {
        QTcpServer probe;
        QVERIFY(probe.listen(QHostAddress::LocalHost));
        const quint16 port = probe.serverPort();
        probe.close();
        ModelOpenOptions o;
        o.serverUrl = QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(port));
        o.timeoutMs = 1500;
        std::atomic_int connecting{0};
        o.connectionStateChanged = [&connecting](ConnectionState s) {
            if (s == ConnectionState::Connecting || s == ConnectionState::Reconnecting)
                ++connecting;
        };
        try {
            openModel(o);
            QFAIL("opened a server that is not there");
        } catch (const Error &e) {
            QVERIFY2(e.message().contains(QString::number(port)), qPrintable(e.message()));
        }
        QVERIFY(connecting >= 1);
    }

private:
    QTemporaryDir m_tmp;
    QString m_chunks;
    ServeProcess m_server;
};

QTEST_GUILESS_MAIN(TestModelOpener)
#include "tst_modelopener.moc"
