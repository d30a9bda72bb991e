// The server cache: LRU order under a byte budget, statistics, failures not cached, and one
// storage read for concurrent misses of the same chunk (from many threads).
#include "base/error.h"
#include "cache/servercache.h"

#include <QPromise>
#include <QThreadPool>
#include <QtConcurrent/QtConcurrentRun>
#include <QtTest>
#include <atomic>

using surfing::ServerCache;

namespace {

QFuture<QByteArray> ready(const QByteArray &bytes)
{
    return QtFuture::makeReadyFuture(bytes);
}

QByteArray fetchNow(ServerCache &cache, const QString &key, int size, int *loads, bool *hit = nullptr)
{
    QFuture<QByteArray> f = cache.fetch(key, [&] { ++*loads; return ready(QByteArray(size, key.at(0).toLatin1())); }, hit);
    return f.result();
}

} // namespace

class TestServerCache : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void hitAfterMiss()
    {
        ServerCache cache(1000);
        int loads = 0;
        bool hit = true;
        QCOMPARE(fetchNow(cache, QStringLiteral("a"), 100, &loads, &hit), QByteArray(100, 'a'));
        QVERIFY(!hit);
        QCOMPARE(fetchNow(cache, QStringLiteral("a"), 100, &loads, &hit), QByteArray(100, 'a'));
        QVERIFY(hit);
        QCOMPARE(loads, 1);
        const auto s = cache.stats();
        QCOMPARE(s.hits, 1);
        QCOMPARE(s.misses, 1);
        QCOMPARE(s.bytesLoaded, 100);
        QCOMPARE(s.bytesCached, 100);
        QCOMPARE(s.entries, 1);
    }

    void evictsLeastRecentlyUsed()
    {
        ServerCache cache(300);
        int loads = 0;
        fetchNow(cache, QStringLiteral("a"), 100, &loads);
        fetchNow(cache, QStringLiteral("b"), 100, &loads);
        fetchNow(cache, QStringLiteral("c"), 100, &loads);
        fetchNow(cache, QStringLiteral("a"), 100, &loads); // a is now the most recent
        fetchNow(cache, QStringLiteral("d"), 100, &loads); // evicts b, the least recent
        QVERIFY(cache.contains(QStringLiteral("a")));
        QVERIFY(!cache.contains(QStringLiteral("b")));
        QVERIFY(cache.contains(QStringLiteral("c")));
        QVERIFY(cache.contains(QStringLiteral("d")));
        QCOMPARE(cache.stats().evictions, 1);
        QCOMPARE(cache.stats().bytesCached, 300);
        QCOMPARE(loads, 4);
    }

    void budgetIsBytesNotEntries()
    {
        ServerCache cache(250);
        int loads = 0;
        fetchNow(cache, QStringLiteral("a"), 100, &loads);
        fetchNow(cache, QStringLiteral("b"), 100, &loads);
        fetchNow(cache, QStringLiteral("c"), 200, &loads); // needs both out
        QVERIFY(!cache.contains(QStringLiteral("a")));
        QVERIFY(!cache.contains(QStringLiteral("b")));
        QVERIFY(cache.contains(QStringLiteral("c")));
        QCOMPARE(cache.stats().evictions, 2);
        cache.setBudget(100);
        QCOMPARE(cache.stats().bytesCached, 0);
    }

    void itemLargerThanBudgetIsServedNotKept()
    {
        ServerCache cache(100);
        int loads = 0;
        fetchNow(cache, QStringLiteral("a"), 50, &loads);
        QCOMPARE(fetchNow(cache, QStringLiteral("x"), 500, &loads).size(), 500);
        QVERIFY(!cache.contains(QStringLiteral("x")));
        QVERIFY(cache.contains(QStringLiteral("a"))); // not pushed out by something it cannot hold
    }

    void failuresAreNotCached()
    {
        ServerCache cache(1000);
        int loads = 0;
        auto failing = [&] {
            ++loads;
            QPromise<QByteArray> read;
            read.start();
            read.setException(std::make_exception_ptr(surfing::Error(QStringLiteral("disk on fire"))));
            read.finish();
            return read.future();
        };
        QFuture<QByteArray> f = cache.fetch(QStringLiteral("a"), failing);
        QVERIFY_THROWS_EXCEPTION(surfing::Error, f.waitForFinished());
        QFuture<QByteArray> g = cache.fetch(QStringLiteral("a"), failing);
        QVERIFY_THROWS_EXCEPTION(surfing::Error, g.waitForFinished());
        QCOMPARE(loads, 2);
        QCOMPARE(cache.stats().loadFailures, 2);
        QVERIFY(!cache.contains(QStringLiteral("a")));
    }

    void loaderThatThrowsIsAFailedFetch()
    {
        ServerCache cache(1000);
        QFuture<QByteArray> f = cache.fetch(QStringLiteral("a"), []() -> QFuture<QByteArray> { throw surfing::Error(QStringLiteral("no")); });
        QVERIFY_THROWS_EXCEPTION(surfing::Error, f.waitForFinished());
    }

    void concurrentMissesShareOneRead()
    {
        ServerCache cache(1 << 20);
        std::atomic<int> loads{0};
        QPromise<QByteArray> storage; // the one read, completed by hand once everyone waits on it
        storage.start();
        const QByteArray bytes(4096, 'z');
        QThreadPool pool;
        pool.setMaxThreadCount(16);
        QList<QFuture<QFuture<QByteArray>>> callers;
        for (int i = 0; i < 32; ++i) {
            callers.append(QtConcurrent::run(&pool, [&] {
                return cache.fetch(QStringLiteral("model/layer_0.safetensors"), [&] {
                    ++loads;
                    return storage.future();
                });
            }));
        }
        QList<QFuture<QByteArray>> waits;
        for (auto &c : callers)
            waits.append(c.result()); // every fetch() has returned, none has data yet
        for (const auto &w : waits)
            QVERIFY(!w.isFinished());
        storage.addResult(bytes);
        storage.finish();
        for (auto &w : waits)
            QCOMPARE(w.result(), bytes);
        QCOMPARE(loads.load(), 1);
        const auto s = cache.stats();
        QCOMPARE(s.misses, 32);
        QCOMPARE(s.joined, 31);
        QCOMPARE(s.bytesLoaded, 4096);
        bool hit = false;
        cache.fetch(QStringLiteral("model/layer_0.safetensors"), [&] { ++loads; return ready({}); }, &hit).waitForFinished();
        QVERIFY(hit);
        QCOMPARE(loads.load(), 1);
    }

    // Each session attaches its own continuation to what fetch() returns. A QFuture holds only
    // one continuation (Qt 6.4 replaces it on a second then()), so joined misses must not share
    // one future: here every continuation has to run once the read completes.
    void continuationsOfJoinedMissesAllRun()
    {
        ServerCache cache(1 << 20);
        QPromise<QByteArray> storage;
        storage.start();
        int loads = 0;
        std::atomic<int> continued{0};
        QList<QFuture<void>> continuations;
        for (int i = 0; i < 4; ++i) {
            QFuture<QByteArray> f = cache.fetch(QStringLiteral("m/layer_0"), [&] { ++loads; return storage.future(); });
            continuations.append(f.then([&continued](const QByteArray &bytes) {
                if (bytes == QByteArray(64, 'q'))
                    ++continued;
            }));
        }
        storage.addResult(QByteArray(64, 'q'));
        storage.finish(); // runs the continuations in this thread, before it returns
        QCOMPARE(loads, 1);
        QCOMPARE(continued.load(), 4);
        for (const auto &c : continuations)
            QVERIFY(c.isFinished());
    }
};

QTEST_GUILESS_MAIN(TestServerCache)
#include "tst_servercache.moc"
