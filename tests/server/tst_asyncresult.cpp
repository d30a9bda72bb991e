// Stress for how results come back across threads (Callback<T>, base/callback.h): thousands of
// storage reads finishing on pool threads while the server's thread consumes them, concurrent
// misses joined in the server cache, health checks every turn, and contexts destroyed with
// results in flight. Each result must arrive exactly once, on its context's thread, and never
// after its context is gone. Built for TSan too (a sanitizer build runs the same test).
//
// This replaced QFuture::then(): in Qt 6.4 a continuation attached while the pool thread
// finishes the future runs twice, the second time on a moved-from promise, and the server
// crashed in QFutureInterfaceBase::reportStarted(). The same loop on the old code (a read on
// the pool, then() attached a few microseconds later) crashed that way within 200000 reads.
// SURFING_STRESS_ROUNDS scales every loop here (default 1).
#include "cache/servercache.h"
#include "serveprocess.h"
#include "server/weightserver.h"
#include "storage/localstorage.h"
#include "testsupport.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRandomGenerator>
#include <QThreadPool>
#include <QtTest>
#include <atomic>
#include <set>

using namespace surfing;

namespace {

int rounds()
{
    return qMax(1, qEnvironmentVariableIntValue("SURFING_STRESS_ROUNDS"));
}

void spin(qint64 ns)
{
    QElapsedTimer t;
    t.start();
    while (t.nsecsElapsed() < ns) {
    }
}

// A stand-in for a ClientSession: registers itself while alive, so a delivery can tell whether
// it reached a live one.
class Session : public QObject
{
public:
    Session(int id, std::set<int> *alive) : m_id(id), m_alive(alive) { m_alive->insert(id); }
    ~Session() override { m_alive->erase(m_id); }
    int id() const { return m_id; }

private:
    int m_id;
    std::set<int> *m_alive;
};

// What every request saw; touched on the test's thread only.
struct Ledger {
    std::vector<int> calls;
    std::vector<int> session;
    int wrongThread = 0;
    int afterDeath = 0;
    int wrongBytes = 0;
    int delivered = 0;

    int add(int sessionId)
    {
        calls.push_back(0);
        session.push_back(sessionId);
        return int(calls.size()) - 1;
    }
    void note(int request, const std::set<int> &alive, QThread *expected)
    {
        ++calls[request];
        ++delivered;
        wrongThread += QThread::currentThread() != expected;
        afterDeath += !alive.count(session[request]);
    }
};

class Sessions
{
public:
    explicit Sessions(int count)
    {
        for (int i = 0; i < count; ++i)
            m_sessions.push_back(std::make_unique<Session>(m_next++, &alive));
    }
    Session *pick() { return m_sessions[QRandomGenerator::global()->bounded(int(m_sessions.size()))].get(); }
    // One goes away with its results in flight; a new one takes its place.
    void replaceOne() { m_sessions[QRandomGenerator::global()->bounded(int(m_sessions.size()))] = std::make_unique<Session>(m_next++, &alive); }
    bool isAlive(int id) const { return alive.count(id) > 0; }

    std::set<int> alive;

private:
    std::vector<std::unique_ptr<Session>> m_sessions;
    int m_next = 0;
};

} // namespace

class TestAsyncResult : public QObject
{
    Q_OBJECT
private:
    // Every request of a live session answered once; none of a destroyed one after it went.
    static void checkLedger(const Ledger &ledger, const Sessions &sessions)
    {
        int lost = 0, twice = 0;
        for (size_t i = 0; i < ledger.calls.size(); ++i) {
            twice += ledger.calls[i] > 1;
            lost += ledger.calls[i] == 0 && sessions.isAlive(ledger.session[i]);
        }
        QCOMPARE(twice, 0);
        QCOMPARE(lost, 0);
        QCOMPARE(ledger.afterDeath, 0);
        QCOMPARE(ledger.wrongThread, 0);
        QCOMPARE(ledger.wrongBytes, 0);
    }

private Q_SLOTS:
    // Two pool threads race to call each callback: one call wins, delivered once.
    void racingCallsDeliverOnce()
    {
        const int total = 20000 * rounds();
        Sessions sessions(16);
        Ledger ledger;
        QThreadPool pool;
        pool.setMaxThreadCount(4);
        for (int i = 0; i < total; ++i) {
            Session *session = sessions.pick();
            const int request = ledger.add(session->id());
            Callback<int> done(session, [&, request](int) { ledger.note(request, sessions.alive, thread()); });
            for (int racer = 0; racer < 2; ++racer)
                pool.start([done, racer] { done(racer); });
            if (i % 64 == 0)
                QCoreApplication::processEvents();
        }
        pool.waitForDone();
        // No session dies here: every request must arrive.
        QVERIFY(QTest::qWaitFor([&] { return ledger.delivered >= total; }, 60000));
        QCoreApplication::processEvents();
        QCOMPARE(ledger.delivered, total);
        for (int c : ledger.calls)
            QCOMPARE(c, 1);
        QCOMPARE(ledger.wrongThread, 0);
    }

    // Results land from pool threads at random moments while their contexts are destroyed.
    void contextsDestroyedMidFlight()
    {
        const int total = 20000 * rounds();
        Sessions sessions(16);
        Ledger ledger;
        QThreadPool pool;
        pool.setMaxThreadCount(4);
        auto *rng = QRandomGenerator::global();
        for (int i = 0; i < total; ++i) {
            Session *session = sessions.pick();
            const int request = ledger.add(session->id());
            Callback<int> done(session, [&, request](int) { ledger.note(request, sessions.alive, thread()); });
            const qint64 jitter = rng->bounded(20000);
            pool.start([done, jitter] {
                spin(jitter);
                done(0);
            });
            if (i % 5 == 0)
                sessions.replaceOne();
            if (i % 16 == 0)
                QCoreApplication::processEvents();
        }
        pool.waitForDone();
        QTest::qWait(100);
        checkLedger(ledger, sessions);
    }

    // The server's own shape: gets through the cache into LocalStorage on its pool, many
    // joining a read under way, sessions coming and going, a small budget so misses continue.
    void readsThroughTheCache()
    {
        QTemporaryDir dir;
        const int files = 24;
        for (int f = 0; f < files; ++f) {
            QFile out(dir.filePath(QStringLiteral("f%1").arg(f)));
            QVERIFY(out.open(QIODevice::WriteOnly));
            out.write(QByteArray(1000 + f, char('a' + f)));
        }
        LocalStorage storage(dir.path(), 4);
        ServerCache cache(6 * 1000);
        Sessions sessions(16);
        Ledger ledger;
        std::atomic<int> reads{0};
        const int total = 30000 * rounds();
        auto *rng = QRandomGenerator::global();
        for (int i = 0; i < total; ++i) {
            Session *session = sessions.pick();
            const int request = ledger.add(session->id());
            const int f = rng->bounded(files);
            const QString name = QStringLiteral("f%1").arg(f);
            const qint64 jitter = rng->bounded(20000);
            const auto answer = [&, request, f](const ReadResult &r) {
                ledger.note(request, sessions.alive, thread());
                ledger.wrongBytes += r.bytes != QByteArray(1000 + f, char('a' + f));
            };
            const auto hit = cache.fetch(name, [&, name, jitter](ReadCallback done) {
                ++reads;
                storage.read(name, {}, std::move(done));
                spin(jitter); // the old code attached its continuation here
            }, ReadCallback(session, answer));
            if (hit)
                answer(ReadResult{*hit, {}});
            if (i % 7 == 0)
                sessions.replaceOne();
            if (i % 3 == 0)
                QCoreApplication::processEvents();
        }
        QVERIFY(QTest::qWaitFor([&] { return cache.stats().misses - cache.stats().joined == reads; }, 60000));
        QTest::qWait(200); // reads that ended after the loop: their answers come through here
        checkLedger(ledger, sessions);
        const ServerCacheStats s = cache.stats();
        QCOMPARE(s.hits + s.misses, qint64(total));
        QCOMPARE(s.misses - s.joined, qint64(reads.load())); // one read per key while one runs
        QVERIFY2(s.joined > 0, "no miss joined a read under way: the loop did not stress that");
        QVERIFY(s.evictions > 0);
    }

    // The /healthz check every turn, with the server's storages answering from their pool.
    void healthChecksWhileContextsDie()
    {
        if (test::sharedModelsDir().isEmpty())
            QSKIP("shared models not available");
        QTemporaryDir dir;
        const QString chunks = dir.filePath(QStringLiteral("bert"));
        QVERIFY(test::chunkSharedModel(QStringLiteral("bert-random"), chunks));
        WeightServerOptions options;
        options.port = 0;
        WeightServer server(options);
        server.addModel(std::make_shared<LocalStorage>(chunks));
        server.listen();
        Sessions sessions(8);
        Ledger ledger;
        int healthy = 0, leaks = 0;
        const int total = 5000 * rounds();
        for (int i = 0; i < total; ++i) {
            Session *session = sessions.pick();
            const int request = ledger.add(session->id());
            server.checkHealth(WeightServer::HealthReport(session, [&, request](const QJsonObject &health) {
                ledger.note(request, sessions.alive, thread());
                healthy += health.value(QLatin1String("status")).toString() == QLatin1String("ok");
                leaks += QJsonDocument(health).toJson().contains(QDir(chunks).absolutePath().toUtf8());
            }));
            if (i % 5 == 0)
                sessions.replaceOne();
            if (i % 4 == 0)
                QCoreApplication::processEvents();
        }
        QVERIFY(QTest::qWaitFor([&] {
            int pending = 0;
            for (size_t i = 0; i < ledger.calls.size(); ++i)
                pending += ledger.calls[i] == 0 && sessions.isAlive(ledger.session[i]);
            return pending == 0;
        }, 60000));
        QTest::qWait(100);
        checkLedger(ledger, sessions);
        QCOMPARE(healthy, ledger.delivered);
        QCOMPARE(leaks, 0);
    }
};

QTEST_GUILESS_MAIN(TestAsyncResult)
#include "tst_asyncresult.moc"
