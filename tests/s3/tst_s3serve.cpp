// End to end: `surfing-cli serve s3://bucket/prefix` in its own process reads a chunk directory
// from s3rver, and a WebSocket client gets the manifest and a chunk byte-exact from it.
#include "s3rverprocess.h"
#include "storage/s3storage.h"
#include "testsupport.h"

#include <QCryptographicHash>
#include <QDirIterator>
#include <QJsonDocument>
#include <QJsonObject>
#include <QWebSocket>
#include <QtTest>

#include <functional>

using namespace surfing;
using surfing::test::S3rverProcess;

namespace {

// Waits for the event loop to make `done` true; the cap only guards against a hang.
bool waitUntil(const std::function<bool()> &done)
{
    QDeadlineTimer deadline(120000);
    while (!done() && !deadline.hasExpired())
        QCoreApplication::processEvents(QEventLoop::AllEvents | QEventLoop::WaitForMoreEvents, 50);
    return done();
}

QProcessEnvironment awsEnvironment(const S3rverProcess &server, const QString &secret)
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("AWS_ACCESS_KEY_ID"), S3rverProcess::accessKey());
    env.insert(QStringLiteral("AWS_SECRET_ACCESS_KEY"), secret);
    env.insert(QStringLiteral("AWS_ENDPOINT_URL"), server.endpoint());
    env.insert(QStringLiteral("AWS_REGION"), QStringLiteral("us-east-1"));
    return env;
}

} // namespace

class TestS3Serve : public QObject
{
    Q_OBJECT
private:
    S3rverProcess m_server;
    QTemporaryDir m_work;
    QString m_chunkDir;

private Q_SLOTS:
    void initTestCase()
    {
        QString error;
        if (!m_server.start({QStringLiteral("surfing")}, &error))
            QFAIL(qPrintable(error));
        m_chunkDir = m_work.filePath(QStringLiteral("chunks"));
        const test::CliResult chunked = test::runCli(
            {QStringLiteral("chunk"), test::sharedModel(QStringLiteral("bert-random")),
             QStringLiteral("-o"), m_chunkDir});
        QVERIFY2(chunked.exitCode == 0, chunked.err.constData());
        S3Location location = S3Location::parse(QStringLiteral("s3://surfing/e2e/bert"));
        location.endpoint = QUrl(m_server.endpoint());
        location.credentials = {S3rverProcess::accessKey(), S3rverProcess::secretKey(), {}};
        location.applyEnvironment(QProcessEnvironment());
        S3Storage storage(location);
        QDirIterator it(m_chunkDir, QDir::Files, QDirIterator::Subdirectories);
        while (it.hasNext()) {
            const QString path = it.next();
            const QString error = writeAndWait(storage, QDir(m_chunkDir).relativeFilePath(path), test::readFile(path));
            QVERIFY2(error.isEmpty(), qPrintable(error));
        }
    }

    void serveFromS3OverWebSocket()
    {
        QProcess serve;
        // Endpoint and region from the command line here; from the environment in the next test.
        QProcessEnvironment env = awsEnvironment(m_server, S3rverProcess::secretKey());
        env.remove(QStringLiteral("AWS_ENDPOINT_URL"));
        env.insert(QStringLiteral("AWS_REGION"), QStringLiteral("eu-west-3")); // --s3-region wins
        serve.setProcessEnvironment(env);
        serve.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        serve.start(test::cliPath(), {QStringLiteral("serve"), QStringLiteral("s3://surfing/e2e/bert"),
                                      QStringLiteral("--port"), QStringLiteral("0"),
                                      QStringLiteral("--s3-endpoint"), m_server.endpoint(),
                                      QStringLiteral("--s3-region"), QStringLiteral("us-east-1"),
                                      QStringLiteral("--s3-path-style")});
        QVERIFY(waitUntil([&] { return serve.canReadLine() || serve.state() == QProcess::NotRunning; }));
        const QUrl url(QString::fromUtf8(serve.readLine().trimmed()));
        QVERIFY2(url.scheme() == QLatin1String("ws"), qPrintable(url.toString()));

        QWebSocket socket;
        QList<QJsonObject> texts;
        QByteArray payload;
        connect(&socket, &QWebSocket::textMessageReceived, this, [&](const QString &text) {
            texts << QJsonDocument::fromJson(text.toUtf8()).object();
        });
        connect(&socket, &QWebSocket::binaryMessageReceived, this, [&](const QByteArray &piece) {
            payload += piece.mid(8);
        });
        socket.open(url);
        QVERIFY(waitUntil([&] { return socket.state() == QAbstractSocket::ConnectedState; }));
        socket.sendTextMessage(QStringLiteral(R"({"type":"hello","protocol":1,"client":"tst_s3serve"})"));
        QVERIFY(waitUntil([&] { return !texts.isEmpty(); }));
        QCOMPARE(texts.takeFirst().value(QLatin1String("type")).toString(), QStringLiteral("welcome"));

        socket.sendTextMessage(QStringLiteral(R"({"type":"manifest","id":1})"));
        QVERIFY(waitUntil([&] { return !texts.isEmpty(); }));
        const QJsonObject reply = texts.takeFirst();
        QCOMPARE(reply.value(QLatin1String("type")).toString(), QStringLiteral("manifest"));
        const QJsonObject manifest = reply.value(QLatin1String("manifest")).toObject();
        QCOMPARE(manifest, QJsonDocument::fromJson(test::readFile(m_chunkDir + QStringLiteral("/chunk_info.json"))).object());

        const QJsonObject layer = manifest.value(QLatin1String("chunks")).toObject().value(QLatin1String("layer_0")).toObject();
        const QByteArray stored = test::readFile(m_chunkDir + QLatin1Char('/') + layer.value(QLatin1String("file")).toString());
        QVERIFY(!stored.isEmpty());
        socket.sendTextMessage(QStringLiteral(R"({"type":"get","id":2,"chunk":"layer_0"})"));
        QVERIFY(waitUntil([&] { return !texts.isEmpty(); }));
        const QJsonObject header = texts.takeFirst();
        QCOMPARE(header.value(QLatin1String("type")).toString(), QStringLiteral("chunk"));
        QVERIFY(waitUntil([&] { return payload.size() >= stored.size(); }));
        QCOMPARE(payload, stored);
        QCOMPARE(header.value(QLatin1String("sha256")).toString().toLatin1(),
                 QCryptographicHash::hash(stored, QCryptographicHash::Sha256).toHex());
        socket.close();

        serve.terminate();
        QVERIFY(serve.waitForFinished(60000));
        QCOMPARE(serve.exitCode(), 0);
    }

    void wrongCredentialsStopServeWithAClearMessage()
    {
        QProcess serve;
        serve.setProcessEnvironment(awsEnvironment(m_server, QStringLiteral("wrong-secret")));
        serve.start(test::cliPath(), {QStringLiteral("serve"), QStringLiteral("s3://surfing/e2e/bert"),
                                      QStringLiteral("--port"), QStringLiteral("0")});
        QVERIFY(serve.waitForFinished(120000));
        const QString err = QString::fromUtf8(serve.readAllStandardError());
        QCOMPARE(serve.exitCode(), 1);
        QVERIFY2(err.contains(QLatin1String("credentials are wrong")), qPrintable(err));
    }
};

QTEST_GUILESS_MAIN(TestS3Serve)
#include "tst_s3serve.moc"
