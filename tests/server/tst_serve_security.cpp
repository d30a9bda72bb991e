// The server's protections, each against its own `surfing-cli serve` process: token auth, TLS
// with a certificate made here, rate limits (requests and bytes), the connection limit and the
// idle timeout.
#include "rawwsclient.h"
#include "serveprocess.h"

#include "testsupport.h"

#include <QJsonDocument>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QtTest>

using namespace surfing::test;

class TestServeSecurity : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    QString m_bert;

    static QString type(const QJsonObject &o) { return o.value(QLatin1String("type")).toString(); }
    static QString code(const QJsonObject &o) { return o.value(QLatin1String("code")).toString(); }

private Q_SLOTS:
    void initTestCase()
    {
        if (sharedModelsDir().isEmpty())
            QSKIP("shared models not available");
        m_bert = m_dir.filePath(QStringLiteral("bert"));
        QVERIFY(chunkSharedModel(QStringLiteral("bert-random"), m_bert));
    }

    void token()
    {
        ServeProcess server;
        QVERIFY(server.start({m_bert, QStringLiteral("--token"), QStringLiteral("s3cret-t0ken")}));
        RawClient none;
        QVERIFY(none.open(server.url()));
        QCOMPARE(code(none.hello()), QStringLiteral("unauthorized"));
        QCOMPARE(none.waitForClose(), int(QWebSocketProtocol::CloseCodePolicyViolated));

        RawClient wrong;
        QVERIFY(wrong.open(server.url()));
        QCOMPARE(code(wrong.hello(QStringLiteral("s3cret-t0keN"))), QStringLiteral("unauthorized"));
        QVERIFY(wrong.waitForClose() >= 1000);

        RawClient prefix;
        QVERIFY(prefix.open(server.url()));
        QCOMPARE(code(prefix.hello(QStringLiteral("s3cret"))), QStringLiteral("unauthorized"));

        RawClient right;
        QVERIFY(right.open(server.url()));
        QCOMPARE(type(right.hello(QStringLiteral("s3cret-t0ken"))), QStringLiteral("welcome"));
        QCOMPARE(type(right.request(QStringLiteral("manifest"), 1)), QStringLiteral("manifest"));
    }

    void tls()
    {
        QString cert, key;
        const QString certError = makeSelfSignedCertificate(m_dir.path(), &cert, &key);
        QVERIFY2(certError.isEmpty(), qPrintable(certError));

        ServeProcess server;
        QVERIFY(server.start({m_bert, QStringLiteral("--tls-cert"), cert, QStringLiteral("--tls-key"), key}));
        QCOMPARE(server.url().scheme(), QStringLiteral("wss"));

        QSslConfiguration ssl = QSslConfiguration::defaultConfiguration();
        ssl.setCaCertificates(QSslCertificate::fromPath(cert));
        RawClient c;
        QVERIFY(c.open(server.url(), &ssl));
        QCOMPARE(type(c.hello()), QStringLiteral("welcome"));
        c.sendText(R"({"type":"get","id":2,"chunk":"layer_0"})");
        QJsonObject header;
        const QByteArray bytes = receiveChunk(c, 2, &header);
        QCOMPARE(bytes.size(), qint64(header.value(QLatin1String("size")).toDouble()));
        QVERIFY(!bytes.isEmpty());

        // A client that does not trust the certificate does not get in.
        RawClient untrusting;
        QVERIFY(!untrusting.open(server.url()));
        // Plain ws:// to a wss:// server gets nowhere either.
        RawClient plain;
        QUrl ws = server.url();
        ws.setScheme(QStringLiteral("ws"));
        QVERIFY(!plain.open(ws) || type(plain.hello()) != QStringLiteral("welcome"));
        QVERIFY(server.isRunning());

        // Half a TLS configuration is a usage error.
        const CliResult half = runCli({QStringLiteral("serve"), m_bert, QStringLiteral("--tls-cert"), cert});
        QCOMPARE(half.exitCode, 2);
    }

    void requestRateLimit()
    {
        // 0.5 requests/s with a burst of 1: of 20 pings sent at once, most are refused.
        ServeProcess server;
        QVERIFY(server.start({m_bert, QStringLiteral("--rate-limit-rps"), QStringLiteral("0.5")}));
        RawClient c;
        QVERIFY(c.open(server.url()));
        QCOMPARE(type(c.hello()), QStringLiteral("welcome"));
        for (int i = 1; i <= 20; ++i)
            c.sendText(QJsonDocument(QJsonObject{{"type", "ping"}, {"id", i}}).toJson());
        int pongs = 0, limited = 0;
        for (int i = 1; i <= 20; ++i) {
            const QJsonObject r = c.nextJson();
            QCOMPARE(r.value(QLatin1String("id")).toInt(), i); // every request answered, in order
            if (type(r) == QLatin1String("pong")) {
                ++pongs;
            } else {
                QCOMPARE(code(r), QStringLiteral("rate_limited"));
                QVERIFY(r.value(QLatin1String("retry_after_ms")).toDouble() > 0);
                ++limited;
            }
        }
        QVERIFY(pongs >= 1);
        QVERIFY(limited >= 10);
    }

    void byteRateLimit()
    {
        // 0.1 Mbit/s = 12.5 kB/s: the first chunk passes on a full bucket, the next must wait.
        ServeProcess server;
        QVERIFY(server.start({m_bert, QStringLiteral("--rate-limit-mbps"), QStringLiteral("0.1")}));
        RawClient c;
        QVERIFY(c.open(server.url()));
        QCOMPARE(type(c.hello()), QStringLiteral("welcome"));
        c.sendText(R"({"type":"get","id":1,"chunk":"layer_0"})");
        QJsonObject header;
        QVERIFY(!receiveChunk(c, 1, &header).isEmpty());
        const QJsonObject r = c.request(QStringLiteral("get"), 2, {{"chunk", "layer_1"}});
        QCOMPARE(code(r), QStringLiteral("rate_limited"));
        QVERIFY(r.value(QLatin1String("retry_after_ms")).toDouble() > 1000);
    }

    void connectionLimit()
    {
        ServeProcess server;
        QVERIFY(server.start({m_bert, QStringLiteral("--max-connections"), QStringLiteral("2")}));
        RawClient a, b, c;
        QVERIFY(a.open(server.url()));
        QCOMPARE(type(a.hello()), QStringLiteral("welcome"));
        QVERIFY(b.open(server.url()));
        QCOMPARE(type(b.hello()), QStringLiteral("welcome"));
        c.open(server.url());
        QCOMPARE(c.waitForClose(), 4013);
        // Room again once one leaves.
        a.socket().close();
        QVERIFY(a.waitForClose() >= 0);
        RawClient d;
        bool in = false;
        for (int attempt = 0; attempt < 50 && !in; ++attempt) { // the server may see a's close after d's open
            RawClient e;
            if (e.open(server.url()) && type(e.hello()) == QLatin1String("welcome"))
                in = true;
            else
                QTest::qWait(100);
        }
        QVERIFY(in);
    }

    void idleTimeout()
    {
        ServeProcess server;
        QVERIFY(server.start({m_bert, QStringLiteral("--idle-timeout"), QStringLiteral("1")}));
        RawClient c;
        QVERIFY(c.open(server.url()));
        QCOMPARE(type(c.hello()), QStringLiteral("welcome"));
        QCOMPARE(c.waitForClose(), int(QWebSocketProtocol::CloseCodeGoingAway));
        QVERIFY(server.isRunning());
    }

    void badUsage()
    {
        QCOMPARE(runCli({QStringLiteral("serve")}).exitCode, 2);
        QCOMPARE(runCli({QStringLiteral("serve"), m_bert, QStringLiteral("--port"), QStringLiteral("99999")}).exitCode, 2);
        QCOMPARE(runCli({QStringLiteral("serve"), m_bert, QStringLiteral("--host"), QStringLiteral("not-an-ip")}).exitCode, 2);
        const CliResult missing = runCli({QStringLiteral("serve"), m_dir.filePath(QStringLiteral("nope"))});
        QCOMPARE(missing.exitCode, 1);
        QVERIFY(missing.err.contains("nope"));
        const CliResult notChunks = runCli({QStringLiteral("serve"), sharedModel(QStringLiteral("bert-random"))});
        QCOMPARE(notChunks.exitCode, 1);
        QVERIFY(notChunks.err.contains("chunk_info.json"));
    }
};

QTEST_GUILESS_MAIN(TestServeSecurity)
#include "tst_serve_security.moc"
