// Token guessing is throttled per address: AuthThrottle with the clock driven by hand, then a
// real `surfing-cli serve --token` refusing an address after five wrong tokens (rate_limited,
// even for the right token, until the wait is over) and counting the failures in /metrics.
#include "rawwsclient.h"
#include "serveprocess.h"
#include "server/auththrottle.h"
#include "testsupport.h"

#include <QTcpSocket>
#include <QtTest>

using namespace surfing;
using namespace surfing::test;

namespace {

const QHostAddress kPeer(QStringLiteral("192.0.2.7"));

QByteArray httpGet(int port, const QByteArray &path)
{
    QTcpSocket socket;
    socket.connectToHost(QStringLiteral("127.0.0.1"), quint16(port));
    if (!socket.waitForConnected(kWaitMs))
        return {};
    socket.write("GET " + path + " HTTP/1.1\r\n\r\n");
    QByteArray bytes;
    while (socket.state() == QAbstractSocket::ConnectedState && socket.waitForReadyRead(kWaitMs))
        bytes += socket.readAll();
    return bytes + socket.readAll();
}

} // namespace

class TestAuthThrottle : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void fiveFreeFailuresThenDoublingWaits()
    {
        AuthThrottle t;
        qint64 now = 1000;
        for (int i = 0; i < 4; ++i) {
            t.recordFailure(kPeer, now);
            QCOMPARE(t.waitMs(kPeer, now), 0);
        }
        t.recordFailure(kPeer, now); // the fifth
        QCOMPARE(t.waitMs(kPeer, now), 1000);
        QCOMPARE(t.waitMs(kPeer, now + 400), 600);
        now += 1000;
        QCOMPARE(t.waitMs(kPeer, now), 0);
        t.recordFailure(kPeer, now);
        QCOMPARE(t.waitMs(kPeer, now), 2000);
        now += 2000;
        t.recordFailure(kPeer, now);
        QCOMPARE(t.waitMs(kPeer, now), 4000);
        for (int i = 0; i < 30; ++i)
            t.recordFailure(kPeer, now);
        QCOMPARE(t.waitMs(kPeer, now), 5 * 60 * 1000); // capped
        QCOMPARE(t.waitMs(QHostAddress(QStringLiteral("192.0.2.8")), now), 0); // others unaffected
    }

    void successClearsAndQuietAddressesAreForgiven()
    {
        AuthThrottle t;
        for (int i = 0; i < 4; ++i)
            t.recordFailure(kPeer, 0);
        t.recordSuccess(kPeer);
        t.recordFailure(kPeer, 0);
        QCOMPARE(t.waitMs(kPeer, 0), 0); // counting starts over
        for (int i = 0; i < 3; ++i)
            t.recordFailure(kPeer, 0);
        const qint64 later = 16 * 60 * 1000; // past the 15 min memory
        t.recordFailure(kPeer, later);
        QCOMPARE(t.waitMs(kPeer, later), 0);
    }

    void ipv6CountsPerSlash64AndMappedIpv4IsIpv4()
    {
        AuthThrottle t;
        for (int i = 0; i < 5; ++i)
            t.recordFailure(QHostAddress(QStringLiteral("2001:db8:1:2::%1").arg(i + 1)), 0);
        QVERIFY(t.waitMs(QHostAddress(QStringLiteral("2001:db8:1:2:ffff::9")), 0) > 0);
        QCOMPARE(t.waitMs(QHostAddress(QStringLiteral("2001:db8:1:3::1")), 0), 0);
        for (int i = 0; i < 5; ++i)
            t.recordFailure(QHostAddress(QStringLiteral("::ffff:192.0.2.9")), 0);
        QVERIFY(t.waitMs(QHostAddress(QStringLiteral("192.0.2.9")), 0) > 0);
    }

    void tableIsBounded()
    {
        AuthThrottle::Settings s;
        s.maxTracked = 100;
        AuthThrottle t(s);
        for (quint32 i = 0; i < 5000; ++i)
            t.recordFailure(QHostAddress(0x0A000000u + i), qint64(i));
        QVERIFY(t.trackedAddresses() <= 100);
        for (int i = 0; i < 5; ++i)
            t.recordFailure(kPeer, 6000);
        QVERIFY(t.waitMs(kPeer, 6000) > 0); // the newest is kept
    }

    void serverRefusesAnAddressAfterFiveWrongTokens()
    {
        if (sharedModelsDir().isEmpty())
            QSKIP("shared models not available");
        QTemporaryDir dir;
        const QString bert = dir.filePath(QStringLiteral("bert"));
        QVERIFY(chunkSharedModel(QStringLiteral("bert-random"), bert));
        ServeProcess server;
        QVERIFY(server.start({bert, QStringLiteral("--token"), QStringLiteral("s3cret-t0ken"), QStringLiteral("--metrics-port"), QStringLiteral("0")}));
        for (int i = 0; i < 5; ++i) {
            RawClient guess;
            QVERIFY(guess.open(server.url()));
            QCOMPARE(guess.hello(QStringLiteral("guess-%1").arg(i)).value(QLatin1String("code")).toString(), QStringLiteral("unauthorized"));
            QVERIFY(guess.waitForClose() >= 1000);
        }
        // Now even the right token is refused unchecked, with the wait to honour.
        RawClient refused;
        QVERIFY(refused.open(server.url()));
        const QJsonObject e = refused.hello(QStringLiteral("s3cret-t0ken"));
        QCOMPARE(e.value(QLatin1String("code")).toString(), QStringLiteral("rate_limited"));
        const qint64 retryAfter = qint64(e.value(QLatin1String("retry_after_ms")).toDouble());
        QVERIFY2(retryAfter > 0 && retryAfter <= 1000, qPrintable(QString::number(retryAfter)));
        QVERIFY(refused.waitForClose() >= 1000);

        const QByteArray metrics = httpGet(server.metricsPort(), "/metrics");
        QVERIFY2(metrics.contains("\nsurfing_auth_failures_total 5\n"), metrics.constData());
        QVERIFY(metrics.contains("surfing_errors_total{code=\"rate_limited\"} 1\n"));

        // Once the wait is over, the right token gets in.
        bool welcomed = false;
        QElapsedTimer waited;
        waited.start();
        while (!welcomed && waited.elapsed() < kWaitMs) {
            QTest::qWait(int(retryAfter));
            RawClient again;
            QVERIFY(again.open(server.url()));
            welcomed = again.hello(QStringLiteral("s3cret-t0ken")).value(QLatin1String("type")).toString() == QLatin1String("welcome");
        }
        QVERIFY(welcomed);
        QVERIFY(server.isRunning());
    }
};

QTEST_GUILESS_MAIN(TestAuthThrottle)
#include "tst_auththrottle.moc"
