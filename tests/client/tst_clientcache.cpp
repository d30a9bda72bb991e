// ClientCache and its eviction policies: the cyclic-scan bound, pinning, budgets, statistics.
#include "cache/clientcache.h"

#include <QtTest>

using namespace surfing;

namespace {

ClientCache::Bytes bytesOf(int size, char fill = 'x')
{
    return std::make_shared<const QByteArray>(size, fill);
}

QString chunkName(int i)
{
    return QStringLiteral("layer_%1").arg(i);
}

// One forward pass over N chunks in order, as inference does: look up, fetch on a miss.
// Returns the hits of this pass.
int runPass(ClientCache &cache, int n, int chunkBytes = 100)
{
    int hits = 0;
    for (int i = 0; i < n; ++i) {
        if (cache.lookup(chunkName(i)))
            ++hits;
        else
            cache.insert(chunkName(i), bytesOf(chunkBytes));
    }
    return hits;
}

// The same pass with prefetch depth 1: the next chunk is inserted (pinned) before this one is
// used, as RemoteChunkSource does while compute runs.
int runPrefetchedPass(ClientCache &cache, int n, QSet<QString> &fetchedThisPass)
{
    int reused = 0;
    for (int i = 0; i < n; ++i) {
        const QString next = chunkName((i + 1) % n);
        if (i + 1 < n && !cache.contains(next)) {
            cache.insert(next, bytesOf(100), true);
            fetchedThisPass.insert(next);
        }
        const bool wasFetched = fetchedThisPass.contains(chunkName(i));
        if (!cache.lookup(chunkName(i)))
            cache.insert(chunkName(i), bytesOf(100));
        else if (!wasFetched)
            ++reused;
    }
    return reused;
}

} // namespace

class TestClientCache : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void cyclicScanBound_data();
    void cyclicScanBound();
    void cyclicScanWithByteBudget();
    void cyclicScanWithPrefetch();
    void adaptsToSmallerWorkingSet();
    void lruKeepsRecentEntries();
    void pinnedEntriesAreNotEvicted();
    void prefetchedEntriesStayUntilUsed();
    void evictionFollowsTheUpcomingOrder();
    void unitsOutsideTheUpcomingOrderGoFirst();
    void plannedCyclicWalkMissesTheMinimum();
    void statisticsAddUp();
    void policyNames();
};

void TestClientCache::cyclicScanBound_data()
{
    QTest::addColumn<int>("n");
    QTest::addColumn<int>("c");
    for (int n : {3, 5, 12, 40}) {
        for (int c = 2; c < n; c += qMax(1, n / 4))
            QTest::addRow("N=%d C=%d", n, c) << n << c;
    }
}

// The acceptance bound: every pass after the first hits at least C-1 of N chunks with the
// scan-resistant policy, while plain LRU hits none.
void TestClientCache::cyclicScanBound()
{
    QFETCH(int, n);
    QFETCH(int, c);
    ClientCache scan(CachePolicyKind::ScanResistant);
    ClientCache lru(CachePolicyKind::Lru);
    scan.setBudget(0, c);
    lru.setBudget(0, c);
    QCOMPARE(runPass(scan, n), 0);
    QCOMPARE(runPass(lru, n), 0);
    for (int pass = 1; pass < 12; ++pass) {
        const int scanHits = runPass(scan, n);
        QVERIFY2(scanHits >= c - 1, qPrintable(QStringLiteral("pass %1: %2 hits").arg(pass).arg(scanHits)));
        QCOMPARE(runPass(lru, n), 0);
        QVERIFY(scan.stats().residentChunks <= c);
    }
    QVERIFY(scan.stats().hits >= 11 * (c - 1)); // over all passes: at least (C-1)/N after the first
    QCOMPARE(scan.stats().hits + scan.stats().misses, 12 * n);
    QCOMPARE(lru.stats().hits, 0);
}

void TestClientCache::cyclicScanWithByteBudget()
{
    const int n = 16, c = 5;
    ClientCache scan;
    scan.setBudget(c * 1000, 0);
    runPass(scan, n, 1000);
    for (int pass = 1; pass < 6; ++pass)
        QVERIFY(runPass(scan, n, 1000) >= c - 1);
    QVERIFY(scan.stats().residentBytes <= c * 1000);
}

// With prefetch the next chunk is already pinned in the cache; chunks served from an earlier
// pass (not refetched) must still be at least C-2 per pass (one slot holds the prefetch).
void TestClientCache::cyclicScanWithPrefetch()
{
    const int n = 12, c = 5;
    ClientCache scan;
    ClientCache lru(CachePolicyKind::Lru);
    scan.setBudget(0, c);
    lru.setBudget(0, c);
    QSet<QString> fetchedScan, fetchedLru;
    runPrefetchedPass(scan, n, fetchedScan);
    runPrefetchedPass(lru, n, fetchedLru);
    for (int pass = 1; pass < 8; ++pass) {
        fetchedScan.clear();
        fetchedLru.clear();
        QVERIFY(runPrefetchedPass(scan, n, fetchedScan) >= c - 2);
        QCOMPARE(runPrefetchedPass(lru, n, fetchedLru), 0);
    }
}

void TestClientCache::adaptsToSmallerWorkingSet()
{
    ClientCache cache;
    cache.setBudget(0, 6);
    for (int pass = 0; pass < 4; ++pass)
        runPass(cache, 20); // a long scan leaves its resident set behind
    // Then a working set that fits: it must take over the cache within a few passes.
    auto passOverB = [&cache] {
        int hits = 0;
        for (int i = 0; i < 5; ++i) {
            const QString name = QStringLiteral("other_%1").arg(i);
            if (cache.lookup(name))
                ++hits;
            else
                cache.insert(name, bytesOf(100));
        }
        return hits;
    };
    int hits = 0;
    for (int pass = 0; pass < 4; ++pass)
        hits = passOverB();
    QCOMPARE(hits, 5);
}

void TestClientCache::lruKeepsRecentEntries()
{
    ClientCache cache(CachePolicyKind::Lru);
    cache.setBudget(0, 2);
    cache.insert(QStringLiteral("a"), bytesOf(1));
    cache.insert(QStringLiteral("b"), bytesOf(1));
    QVERIFY(cache.lookup(QStringLiteral("a")));
    cache.insert(QStringLiteral("c"), bytesOf(1));
    QVERIFY(cache.contains(QStringLiteral("a")));
    QVERIFY(!cache.contains(QStringLiteral("b")));
    QVERIFY(cache.contains(QStringLiteral("c")));
}

void TestClientCache::pinnedEntriesAreNotEvicted()
{
    for (CachePolicyKind kind : {CachePolicyKind::Lru, CachePolicyKind::ScanResistant}) {
        ClientCache cache(kind);
        cache.setBudget(0, 2);
        cache.insert(QStringLiteral("a"), bytesOf(10));
        ClientCache::Bytes held = cache.lookup(QStringLiteral("a")); // compute uses it
        cache.insert(QStringLiteral("b"), bytesOf(10));
        ClientCache::Bytes heldB = cache.lookup(QStringLiteral("b"));
        cache.insert(QStringLiteral("c"), bytesOf(10)); // nothing evictable: over budget
        QVERIFY(cache.contains(QStringLiteral("a")));
        QVERIFY(cache.contains(QStringLiteral("b")));
        QCOMPARE(cache.stats().residentChunks, 3);
        QCOMPARE(cache.stats().evictions, 0);
        held.reset();
        heldB.reset();
        cache.trim();
        QCOMPARE(cache.stats().residentChunks, 2);
        QCOMPARE(cache.stats().evictions, 1);
    }
}

// Prefetched entries are the prefetch window: outside the budget until used, so they neither
// evict what the policy keeps nor get evicted before their use.
void TestClientCache::prefetchedEntriesStayUntilUsed()
{
    ClientCache cache;
    cache.setBudget(300, 0);
    cache.insert(QStringLiteral("x"), bytesOf(100));
    cache.insert(QStringLiteral("y"), bytesOf(100));
    cache.insert(QStringLiteral("p1"), bytesOf(100), true);
    cache.insert(QStringLiteral("p2"), bytesOf(100), true);
    cache.insert(QStringLiteral("p3"), bytesOf(100), true);
    QCOMPARE(cache.stats().evictions, 0);
    QCOMPARE(cache.stats().prefetchedBytes, 300);
    QCOMPARE(cache.stats().residentBytes, 500);

    const ClientCache::Bytes p2 = cache.lookup(QStringLiteral("p2")); // now budgeted: 300 of 300
    QVERIFY(p2);
    QCOMPARE(cache.stats().evictions, 0);
    const ClientCache::Bytes p1 = cache.lookup(QStringLiteral("p1")); // 400 of 300: x or y goes
    QVERIFY(p1);
    QCOMPARE(cache.stats().evictions, 1);
    QVERIFY(!cache.contains(QStringLiteral("x")) || !cache.contains(QStringLiteral("y")));
    QVERIFY(cache.contains(QStringLiteral("p1")));
    QVERIFY(cache.contains(QStringLiteral("p3")));
    QCOMPARE(cache.stats().prefetchedBytes, 100);
    QCOMPARE(cache.stats().residentBytes - cache.stats().prefetchedBytes, 300);
}

// With the order of the coming uses known, eviction drops the entry used farthest ahead (on a
// cyclic walk, the one just used), not the one the policy would pick.
void TestClientCache::evictionFollowsTheUpcomingOrder()
{
    ClientCache cache(CachePolicyKind::Lru);
    cache.setBudget(0, 3);
    const QStringList order{QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c"), QStringLiteral("d")};
    for (int i = 0; i < 3; ++i) {
        cache.setUpcoming(order, i);
        QVERIFY(!cache.lookup(order[i]));
        cache.insert(order[i], bytesOf(100));
    }
    cache.setUpcoming(order, 3);
    cache.insert(QStringLiteral("d"), bytesOf(100));
    // LRU alone would drop a, needed right after d; c is needed last.
    QVERIFY(cache.contains(QStringLiteral("a")));
    QVERIFY(cache.contains(QStringLiteral("b")));
    QVERIFY(!cache.contains(QStringLiteral("c")));
    QVERIFY(cache.contains(QStringLiteral("d")));

    cache.setUpcoming({}, 0); // no plan: the policy again (LRU: a is the oldest)
    cache.insert(QStringLiteral("e"), bytesOf(100));
    QVERIFY(!cache.contains(QStringLiteral("a")));
}

void TestClientCache::unitsOutsideTheUpcomingOrderGoFirst()
{
    ClientCache cache(CachePolicyKind::Lru);
    cache.setBudget(0, 2);
    cache.insert(QStringLiteral("stale"), bytesOf(100));
    cache.insert(QStringLiteral("a"), bytesOf(100));
    cache.setUpcoming({QStringLiteral("a"), QStringLiteral("b")}, 1);
    QVERIFY(cache.lookup(QStringLiteral("stale"))); // most recently used, but not coming again
    cache.insert(QStringLiteral("b"), bytesOf(100));
    QVERIFY(!cache.contains(QStringLiteral("stale")));
    QVERIFY(cache.contains(QStringLiteral("a")));
}

// A cyclic walk of N chunks through room for C misses Belady's minimum (N - C, at most one more
// on some passes) when the cache knows the order, even under a policy that alone hits nothing.
void TestClientCache::plannedCyclicWalkMissesTheMinimum()
{
    const int n = 12, c = 5;
    ClientCache cache(CachePolicyKind::Lru);
    cache.setBudget(0, c);
    QStringList order;
    for (int i = 0; i < n; ++i)
        order << chunkName(i);
    for (int pass = 0; pass < 8; ++pass) {
        int misses = 0;
        for (int i = 0; i < n; ++i) {
            cache.setUpcoming(order, i);
            if (!cache.lookup(order[i])) {
                ++misses;
                cache.insert(order[i], bytesOf(100));
            }
        }
        if (pass > 0)
            QVERIFY2(misses <= n - c + 1, qPrintable(QStringLiteral("pass %1: %2 misses").arg(pass).arg(misses)));
    }
}

void TestClientCache::statisticsAddUp()
{
    ClientCache cache;
    cache.setBudget(250, 0);
    QVERIFY(!cache.lookup(QStringLiteral("a")));
    cache.insert(QStringLiteral("a"), bytesOf(100));
    cache.insert(QStringLiteral("b"), bytesOf(100));
    QVERIFY(cache.lookup(QStringLiteral("a")));
    cache.insert(QStringLiteral("c"), bytesOf(100));
    const ClientCacheStats s = cache.stats();
    QCOMPARE(s.hits, 1);
    QCOMPARE(s.misses, 1);
    QCOMPARE(s.evictions, 1);
    QCOMPARE(s.evictedBytes, 100);
    QCOMPARE(s.insertedBytes, 300);
    QCOMPARE(s.residentBytes, 200);
    QCOMPARE(s.residentChunks, 2);
    QVERIFY(cache.contains(QStringLiteral("a"))); // the reused entry survives
    cache.setBudget(100, 0);
    QCOMPARE(cache.stats().residentChunks, 1);
    cache.clear();
    QCOMPARE(cache.stats().residentBytes, 0);
}

void TestClientCache::policyNames()
{
    QCOMPARE(cachePolicyFromName(QStringLiteral("lru")), CachePolicyKind::Lru);
    QCOMPARE(cachePolicyFromName(cachePolicyName(CachePolicyKind::ScanResistant)), CachePolicyKind::ScanResistant);
    QVERIFY(!cachePolicyFromName(QStringLiteral("fifo")));
}

QTEST_GUILESS_MAIN(TestClientCache)
#include "tst_clientcache.moc"
