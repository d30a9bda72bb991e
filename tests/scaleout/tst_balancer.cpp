// The deployment of docs/deploy.md, end to end on loopback: s3rver, three `serve s3://...`
// replicas and HAProxy with packaging/haproxy/surfing.cfg. Fetches and runs go through the
// balancer; a replica is SIGKILLed mid-run and the storage stopped for 5 s mid-run, and the
// runs still give the uninterrupted run's ids (the goldens for the first 48).
#include "cluster.h"
#include "testsupport.h"

#include <QDir>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QThread>
#include <QtTest>


using namespace surfing;
using namespace surfing::test;

namespace {
const QString kToken = QStringLiteral("balanced-secret");
}

class TestBalancer : public QObject
{
    Q_OBJECT
private:
    Cluster m_cluster;
    QTemporaryDir m_tmp;
    QStringList m_runArgs;
    QVector<qint64> m_reference; // 64 ids of an uninterrupted local run
    qint64 m_uninterruptedMs = 0;

private Q_SLOTS:
    void initTestCase()
    {
        if (const QString missing = missingBalancerTools(); !missing.isEmpty())
            QSKIP(qPrintable(missing));
        if (sharedModel(QStringLiteral("stories260K")).isEmpty())
            QSKIP("../shared/models/stories260K is not available");
        QString error;
        QVERIFY2(m_cluster.startStorage(QStringLiteral("stories260K"), &error), qPrintable(error));
        // No server cache: every get reads the bucket, so a storage outage is felt at once.
        // The token is the replicas' business: the balancer forwards the session untouched.
        QVERIFY2(m_cluster.startReplicas(3, {QStringLiteral("--cache-mb"), QStringLiteral("0"), QStringLiteral("--token"), kToken}, &error),
                 qPrintable(error));
        QVERIFY2(m_cluster.startBalancer(&error), qPrintable(error));

        const QJsonObject golden = storiesGolden();
        QStringList ids;
        for (qint64 id : jsonIds(golden.value(QLatin1String("ids"))))
            ids << QString::number(id);
        // A one-chunk client cache: the client fetches every layer for every token, all run long.
        m_runArgs = {QStringLiteral("--ids"), ids.join(QLatin1Char(',')), QStringLiteral("--max-tokens"), QStringLiteral("64"),
                     QStringLiteral("--cache-layers"), QStringLiteral("1")};
        auto local = startRun(QStringList{QStringLiteral("--local"), m_cluster.chunkDir()} + m_runArgs);
        m_runArgs << QStringLiteral("--token") << kToken;
        const QJsonObject out = finishRun(*local, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        m_reference = jsonIds(out.value(QLatin1String("ids")));
        QCOMPARE(m_reference.size(), 64);
        QCOMPARE(m_reference.mid(0, 48), jsonIds(golden.value(QLatin1String("greedy_ids"))));
    }

    // A test that failed half-way must not leave the next one a replica short.
    void init()
    {
        bool restarted = false;
        for (int i = 0; i < m_cluster.replicaCount(); ++i) {
            if (!m_cluster.replica(i).isRunning()) {
                QVERIFY(m_cluster.restartReplica(i));
                restarted = true;
            }
        }
        if (restarted)
            QVERIFY(m_cluster.waitForAllUp());
    }

    void fetchesEveryChunkThroughTheBalancer()
    {
        const QString out = m_tmp.filePath(QStringLiteral("fetched"));
        const CliResult fetched = runCli({QStringLiteral("fetch"), QStringLiteral("--all"), QStringLiteral("--server"),
                                          m_cluster.balancerUrl().toString(), QStringLiteral("--token"), kToken,
                                          QStringLiteral("-o"), out});
        QVERIFY2(fetched.exitCode == 0, fetched.err.constData());
        QDirIterator it(m_cluster.chunkDir(), QDir::Files);
        int files = 0;
        while (it.hasNext()) {
            const QString path = it.next();
            if (it.fileName() == QLatin1String("chunk_info.json"))
                continue; // rewritten by fetch (same content, its own formatting)
            QCOMPARE(readFile(out + QLatin1Char('/') + it.fileName()), readFile(path));
            ++files;
        }
        QVERIFY(files > 5);
        const CliResult verified = runCli({QStringLiteral("verify"), out});
        QVERIFY2(verified.exitCode == 0, verified.err.constData());
    }

    void runsThroughTheBalancer()
    {
        QElapsedTimer timer;
        timer.start();
        auto run = startRun(QStringList{QStringLiteral("--server"), m_cluster.balancerUrl().toString()} + m_runArgs);
        QString error;
        const QJsonObject out = finishRun(*run, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        m_uninterruptedMs = timer.elapsed();
        QCOMPARE(jsonIds(out.value(QLatin1String("ids"))), m_reference);
        QCOMPARE(out.value(QLatin1String("network")).toObject().value(QLatin1String("retries")).toInt(), 0);
    }

    void forwardsOnlySessionsAndHealth()
    {
        const int port = m_cluster.balancerPort();
        const HttpAnswer health = httpGet(port, "/healthz");
        QCOMPARE(health.status, 200);
        QCOMPARE(QJsonDocument::fromJson(health.body).object().value(QLatin1String("status")).toString(), QStringLiteral("ok"));
        QCOMPARE(httpGet(port, "/metrics").status, 404);
        QCOMPARE(httpGet(port, "/").status, 404); // not an upgrade
        QCOMPARE(httpGet(port, "/healthz", "POST").status, 405);
        const QByteArray upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
        QCOMPARE(httpGet(port, "/metrics", "GET", upgrade).status, 101); // a session for model "metrics"...
        QCOMPARE(httpGet(port, "/a/b", "GET", upgrade).status, 404);     // ...but no deeper path
        QCOMPARE(httpGet(port, "/../healthz", "GET", upgrade).status, 404);
    }

    void tokenIsCheckedByTheReplicas()
    {
        const CliResult refused = runCli({QStringLiteral("fetch"), QStringLiteral("layer_0"), QStringLiteral("--server"),
                                          m_cluster.balancerUrl().toString(), QStringLiteral("--token"), QStringLiteral("wrong"),
                                          QStringLiteral("-o"), m_tmp.filePath(QStringLiteral("refused"))});
        QCOMPARE(refused.exitCode, 1);
        QVERIFY2(refused.err.contains("unauthorized"), refused.err.constData());
    }

    void replicaKilledMidRunBehindTheBalancer()
    {
        const QVector<double> before = m_cluster.servedNow();
        m_cluster.markInFlightBaseline();
        QElapsedTimer timer;
        timer.start();
        auto run = startRun(QStringList{QStringLiteral("--server"), m_cluster.balancerUrl().toString()} + m_runArgs);
        const int victim = m_cluster.waitForServing(*run, before, 60);
        QVERIFY2(victim >= 0, "the run ended before a replica served 60 chunks");
        m_cluster.replica(victim).kill(); // SIGKILL
        QString error;
        const QJsonObject out = finishRun(*run, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QCOMPARE(jsonIds(out.value(QLatin1String("ids"))), m_reference);
        const QJsonObject network = out.value(QLatin1String("network")).toObject();
        const int retries = network.value(QLatin1String("retries")).toInt();
        // The balancer cut the session when its replica died; the client opened another one.
        QVERIFY2(network.value(QLatin1String("reconnects")).toInt() >= 1, "the session was not cut: was the right replica killed?");
        qInfo("replica %d SIGKILLed mid-run: run took %lld ms (uninterrupted %lld ms), %d reconnects, %d requests sent again",
              victim, timer.elapsed(), m_uninterruptedMs, network.value(QLatin1String("reconnects")).toInt(), retries);
        QVERIFY(m_cluster.restartReplica(victim));
        QVERIFY(m_cluster.waitForAllUp());
    }

    // The replica holding the session frozen (SIGSTOP: as a black-holed host, the connections
    // stay open and nothing answers): HAProxy keeps the tunnel, the client hears nothing, not
    // even an answer to its ping, drops the session after --peer-timeout and lands on another
    // replica, instead of failing the run when its requests time out.
    void replicaFrozenMidRunBehindTheBalancer()
    {
        int victim = -1;
        QString error;
        const QJsonObject out = m_cluster.runWithFrozenReplica(
            QStringList{QStringLiteral("--server"), m_cluster.balancerUrl().toString()} + m_runArgs, 60, &victim, &error);
        QVERIFY2(victim >= 0, "the run ended before a replica served 60 chunks");
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QCOMPARE(jsonIds(out.value(QLatin1String("ids"))), m_reference);
        const QJsonObject network = out.value(QLatin1String("network")).toObject();
        QVERIFY2(network.value(QLatin1String("reconnects")).toInt() >= 1, "the session was not opened again");
        QVERIFY(m_cluster.restartReplica(victim));
        QVERIFY(m_cluster.waitForAllUp());
    }

    void storageStoppedForFiveSecondsMidRun()
    {
        const QVector<double> before = m_cluster.servedNow();
        m_cluster.markInFlightBaseline();
        auto run = startRun(QStringList{QStringLiteral("--server"), m_cluster.balancerUrl().toString()} + m_runArgs);
        QVERIFY2(m_cluster.waitForServing(*run, before, 60) >= 0, "the run ended before a replica served 60 chunks");
        QElapsedTimer outage;
        outage.start();
        m_cluster.storage().kill();
        // Every replica says so on /healthz (so the balancer stops sending new sessions) ...
        for (int i = 0; i < m_cluster.replicaCount(); ++i) {
            QTRY_VERIFY_WITH_TIMEOUT(httpGet(m_cluster.healthPort(i), "/healthz").status == 503, kWaitMs);
            qInfo("replica %d: /healthz 503 %lld ms after the storage stopped", i, outage.elapsed());
        }
        QCOMPARE(httpGet(m_cluster.balancerPort(), "/healthz").status, 503);
        QThread::msleep(ulong(qMax<qint64>(0, 5000 - outage.elapsed())));
        QString error;
        QVERIFY2(m_cluster.storage().restart(&error), qPrintable(error));
        const qint64 outageMs = outage.elapsed();
        const QJsonObject out = finishRun(*run, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QCOMPARE(jsonIds(out.value(QLatin1String("ids"))), m_reference);
        const int retries = out.value(QLatin1String("network")).toObject().value(QLatin1String("retries")).toInt();
        QVERIFY2(retries > 0, "no request was retried: did the outage happen while the run fetched?");
        qInfo("storage stopped for %lld ms mid-run (until it answered again): %d requests sent again", outageMs, retries);
        // ... and recovers by itself.
        QElapsedTimer recovery;
        recovery.start();
        for (int i = 0; i < m_cluster.replicaCount(); ++i)
            QTRY_VERIFY_WITH_TIMEOUT(httpGet(m_cluster.healthPort(i), "/healthz").status == 200, kWaitMs);
        qInfo("replicas healthy again %lld ms after the run ended", recovery.elapsed());
        QVERIFY(m_cluster.waitForAllUp());
    }
};

QTEST_GUILESS_MAIN(TestBalancer)
#include "tst_balancer.moc"
