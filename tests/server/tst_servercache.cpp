// The server cache: LRU order under a byte budget, statistics, failures not cached, and one
// storage read for concurrent misses of the same chunk (from many threads), each caller hearing
// back exactly once on its own thread, or not at all once its context is gone.
#include "cache/servercache.h"

#include <QSemaphore>
#include <QThreadPool>
#include <QtTest>
#include <atomic>
#include <optional>

using surfing::ReadCallback;
using surfing::ReadResult;
using surfing::ServerCache;

namespace {

ReadResult bytesResult(const QByteArray &bytes)
{
    return ReadResult{bytes, {}};
}

// A loader that reads `bytes` at once, counting its calls.
ServerCache::Loader instant(const QByteArray &bytes, int *loads)
{
    return [bytes, loads](ReadCallback done) {
        ++*loads;
        done(bytesResult(bytes));
    };
}

// Fetches and waits for the answer (a hit comes back at once, a miss through the event loop).
ReadResult fetchNow(ServerCache &cache, const QString &key, const ServerCache::Loader &load, bool *hit = nullptr)
{
    QObject context;
    std::optional<ReadResult> answer;
    const std::optional<QByteArray> now = cache.fetch(key, load, ReadCallback(&context, [&](const ReadResult &r) { answer = r; }));
    if (hit)
        *hit = now.has_value();
    if (now)
        return bytesResult(*now);
    if (!QTest::qWaitFor([&] { return answer.has_value(); }, 30000))
        return ReadResult::failure(QStringLiteral("no answer"));
    return *answer;
}

QByteArray fetchNow(ServerCache &cache, const QString &key, int size, int *loads, bool *hit = nullptr)
{
    return fetchNow(cache, key, instant(QByteArray(size, key.at(0).toLatin1()), loads), hit).bytes;
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
        const auto failing = [&](ReadCallback done) {
            ++loads;
            done(ReadResult::failure(QStringLiteral("disk on fire")));
        };
        QCOMPARE(fetchNow(cache, QStringLiteral("a"), failing).error, QStringLiteral("disk on fire"));
        QCOMPARE(fetchNow(cache, QStringLiteral("a"), failing).error, QStringLiteral("disk on fire"));
        QCOMPARE(loads, 2);
        QCOMPARE(cache.stats().loadFailures, 2);
        QVERIFY(!cache.contains(QStringLiteral("a")));
    }

    void loaderThatThrowsIsAFailedFetch()
    {
        ServerCache cache(1000);
        const ReadResult r = fetchNow(cache, QStringLiteral("a"), [](ReadCallback) { throw std::runtime_error("no"); });
        QCOMPARE(r.error, QStringLiteral("no"));
        // The key is free again: the next fetch loads.
        int loads = 0;
        QCOMPARE(fetchNow(cache, QStringLiteral("a"), 3, &loads), QByteArray(3, 'a'));
        QCOMPARE(loads, 1);
    }

    void concurrentMissesShareOneRead()
    {
        ServerCache cache(1 << 20);
        std::atomic<int> loads{0};
        ReadCallback storage; // the one read, completed by hand once everyone waits on it
        QSemaphore answered;
        const QByteArray bytes(4096, 'z');
        std::atomic<int> right{0};
        QThreadPool pool;
        pool.setMaxThreadCount(16);
        for (int i = 0; i < 32; ++i) {
            pool.start([&] {
                const auto hit = cache.fetch(QStringLiteral("model/layer_0.safetensors"), [&](ReadCallback done) {
                    ++loads;
                    storage = done;
                }, ReadCallback::direct([&](const ReadResult &r) {
                    right += r.ok() && r.bytes == bytes;
                    answered.release();
                }));
                QVERIFY(!hit);
            });
        }
        pool.waitForDone(); // every fetch() has returned, none has data yet
        QCOMPARE(answered.available(), 0);
        QCOMPARE(loads.load(), 1);
        storage(bytesResult(bytes));
        QVERIFY(answered.tryAcquire(32, 30000));
        QCOMPARE(right.load(), 32);
        const auto s = cache.stats();
        QCOMPARE(s.misses, 32);
        QCOMPARE(s.joined, 31);
        QCOMPARE(s.bytesLoaded, 4096);
        int more = 0;
        bool hit = false;
        fetchNow(cache, QStringLiteral("model/layer_0.safetensors"), instant({}, &more), &hit);
        QVERIFY(hit);
        QCOMPARE(more, 0);
    }

    // Sessions on the server's thread wait on one read; one of them goes away meanwhile. The
    // others each hear back once, on their own thread; the one that went is not called.
    void joinedCallersHearBackOnceOnTheirThread()
    {
        ServerCache cache(1 << 20);
        ReadCallback storage;
        int loads = 0;
        std::vector<std::unique_ptr<QObject>> sessions;
        std::vector<int> calls(4, 0);
        bool wrongThread = false;
        for (int i = 0; i < 4; ++i) {
            sessions.push_back(std::make_unique<QObject>());
            cache.fetch(QStringLiteral("m/layer_0"), [&](ReadCallback done) { ++loads; storage = done; },
                        ReadCallback(sessions.back().get(), [&, i](const ReadResult &r) {
                            calls[i] += r.bytes == QByteArray(64, 'q');
                            wrongThread = wrongThread || QThread::currentThread() != thread();
                        }));
        }
        sessions[2].reset();
        std::unique_ptr<QThread> finisher(QThread::create([&] { storage(bytesResult(QByteArray(64, 'q'))); }));
        finisher->start();
        QVERIFY(finisher->wait(30000));
        QTRY_COMPARE(calls[0] + calls[1] + calls[3], 3);
        QTest::qWait(50); // anything wrongly queued would arrive now
        QCOMPARE(loads, 1);
        QCOMPARE(calls, std::vector<int>({1, 1, 0, 1}));
        QVERIFY(!wrongThread);
    }

    void callersStillWaitingWhenTheCacheGoesGetAnError()
    {
        ReadCallback storage;
        std::optional<ReadResult> answer;
        {
            ServerCache cache(1000);
            cache.fetch(QStringLiteral("k"), [&](ReadCallback done) { storage = done; },
                        ReadCallback::direct([&](const ReadResult &r) { answer = r; }));
        }
        QVERIFY(answer.has_value());
        QVERIFY(!answer->ok());
        storage(bytesResult("late")); // the read ending after the cache is harmless
    }
};

QTEST_GUILESS_MAIN(TestServerCache)
#include "tst_servercache.moc"
