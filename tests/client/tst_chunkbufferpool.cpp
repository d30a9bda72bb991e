// ChunkBufferPool: an evicted chunk's buffer goes to the next chunk to arrive, never while anyone
// else still references its bytes, and never beyond the pool's byte limit.
#include "cache/chunkbufferpool.h"
#include "cache/clientcache.h"

#include <QtTest>

using namespace surfing;

namespace {

constexpr qint64 kMiB = qint64(1) << 20;

std::shared_ptr<const QByteArray> chunkOf(qint64 bytes, char fill)
{
    return std::make_shared<const QByteArray>(QByteArray(bytes, fill));
}

} // namespace

class TestChunkBufferPool : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void freedBufferIsReused();
    void sharedBytesAreNeverPooled();
    void poolStaysWithinItsLimit();
    void fullPoolLetsItsOldestBufferGo();
    void takeServesOnlyBuffersThatFitSnugly();
    void smallBuffersAreLeftToMalloc();
    void recycleOnlyByTheLastOwner();
    void evictionHandsTheBufferToTheNextReceive();
    void chunkHeldByComputeIsNotReused();
    void grantsRaiseAndLowerTheLimit();
    void cacheBudgetIsGrantedWhileTheCacheLives();
};

void TestChunkBufferPool::freedBufferIsReused()
{
    ChunkBufferPool pool(64 * kMiB);
    QByteArray a = pool.take(20 * kMiB);
    QCOMPARE(a.size(), 20 * kMiB);
    const char *memory = a.constData();
    pool.give(std::move(a));
    QCOMPARE(pool.pooledBytes() >= 20 * kMiB, true);
    const QByteArray b = pool.take(19 * kMiB); // smaller fits in the same memory
    QCOMPARE(b.constData(), memory);
    QCOMPARE(b.size(), 19 * kMiB);
    QCOMPARE(pool.reused(), 1);
    QCOMPARE(pool.pooledBytes(), 0);
    QVERIFY(pool.take(30 * kMiB).constData() != memory); // nothing pooled fits: a new buffer
}

void TestChunkBufferPool::sharedBytesAreNeverPooled()
{
    ChunkBufferPool pool(64 * kMiB);
    QByteArray a(20 * kMiB, 'a');
    const QByteArray reader = a; // someone still reads these bytes
    pool.give(a);
    QCOMPARE(pool.pooledBytes(), 0);
    QVERIFY(pool.take(20 * kMiB).constData() != reader.constData());
    QCOMPARE(reader.at(12345), 'a');
}

void TestChunkBufferPool::poolStaysWithinItsLimit()
{
    ChunkBufferPool pool(50 * kMiB);
    pool.give(QByteArray(20 * kMiB, 'x'));
    pool.give(QByteArray(20 * kMiB, 'y'));
    pool.give(QByteArray(20 * kMiB, 'z')); // would pass 50 MiB: let go
    QVERIFY(pool.pooledBytes() <= 50 * kMiB);
    QVERIFY(pool.pooledBytes() >= 40 * kMiB);
    ChunkBufferPool none(0);
    none.give(QByteArray(20 * kMiB, 'x'));
    QCOMPARE(none.pooledBytes(), 0);
}

// A buffer nobody took for a while (the embedding's, after warm-up) makes room for the layers
// coming free now, which the next arrivals will take.
void TestChunkBufferPool::fullPoolLetsItsOldestBufferGo()
{
    ChunkBufferPool pool(100 * kMiB);
    pool.give(QByteArray(60 * kMiB, 'e'));
    QByteArray layer(30 * kMiB, 'l');
    const char *memory = layer.constData();
    pool.give(std::move(layer));
    pool.give(QByteArray(30 * kMiB, 'm')); // 120 MiB: the 60 MiB one goes
    QCOMPARE(pool.pooledBytes(), 60 * kMiB);
    QCOMPARE(pool.take(30 * kMiB).constData(), memory); // the layers stayed
    QCOMPARE(pool.reused(), 1);
    pool.give(QByteArray(200 * kMiB, 'x')); // larger than the whole pool: let go, nothing else
    QCOMPARE(pool.pooledBytes(), 30 * kMiB);
}

// A 4 KiB norm chunk that took a pooled 45 MB layer buffer kept all its pages resident while the
// next layer faulted in a new one; a layer in the embedding's buffer holds three times its size.
void TestChunkBufferPool::takeServesOnlyBuffersThatFitSnugly()
{
    ChunkBufferPool pool(200 * kMiB);
    QByteArray layer(40 * kMiB, 'l');
    const char *memory = layer.constData();
    pool.give(std::move(layer));
    pool.give(QByteArray(120 * kMiB, 'e'));
    QVERIFY(pool.take(4096).constData() != memory);
    QVERIFY(pool.take(12 * kMiB).constData() != memory);
    QCOMPARE(pool.reused(), 0);
    QCOMPARE(pool.pooledBytes(), 160 * kMiB);
    QCOMPARE(pool.take(36 * kMiB).constData(), memory); // within a quarter of its size
    QCOMPARE(pool.reused(), 1);
    QCOMPARE(pool.pooledBytes(), 120 * kMiB);
}

void TestChunkBufferPool::smallBuffersAreLeftToMalloc()
{
    ChunkBufferPool pool(64 * kMiB);
    pool.give(QByteArray(kMiB, 's'));
    QCOMPARE(pool.pooledBytes(), 0);
}

void TestChunkBufferPool::recycleOnlyByTheLastOwner()
{
    ChunkBufferPool pool(64 * kMiB);
    auto bytes = chunkOf(20 * kMiB, 'r');
    auto other = bytes;
    pool.recycle(bytes);
    QVERIFY(!bytes);
    QCOMPARE(pool.pooledBytes(), 0);
    QCOMPARE(other->at(7), 'r');
    pool.recycle(other);
    QVERIFY(pool.pooledBytes() >= 20 * kMiB);
}

// Through the real ClientCache and the process's pool: a chunk evicted to make room gives its
// buffer to the next take() of the same size.
void TestChunkBufferPool::evictionHandsTheBufferToTheNextReceive()
{
    ChunkBufferPool &pool = ChunkBufferPool::instance();
    while (pool.pooledBytes() > 0)
        (void)pool.take(1);
    ClientCache cache(CachePolicyKind::Lru);
    cache.setBudget(0, 1);
    auto a = chunkOf(20 * kMiB, 'a');
    const char *memory = a->constData();
    cache.insert(QStringLiteral("a"), std::move(a));
    cache.insert(QStringLiteral("b"), chunkOf(20 * kMiB, 'b')); // evicts a
    QVERIFY(!cache.contains(QStringLiteral("a")));
    QCOMPARE(pool.take(20 * kMiB).constData(), memory);
}

void TestChunkBufferPool::chunkHeldByComputeIsNotReused()
{
    ChunkBufferPool &pool = ChunkBufferPool::instance();
    while (pool.pooledBytes() > 0)
        (void)pool.take(1);
    ClientCache cache(CachePolicyKind::Lru);
    cache.setBudget(0, 1);
    cache.insert(QStringLiteral("a"), chunkOf(20 * kMiB, 'a'));
    ClientCache::Bytes held = cache.lookup(QStringLiteral("a")); // compute is using it
    cache.insert(QStringLiteral("b"), chunkOf(20 * kMiB, 'b'));
    QCOMPARE(pool.pooledBytes(), 0);
    QByteArray fresh = pool.take(20 * kMiB);
    QVERIFY(fresh.constData() != held->constData());
    fresh.fill('z');
    QCOMPARE(held->at(100), 'a');
    // A copy of the bytes kept elsewhere (a QByteArray sharing them) also keeps them out.
    const QByteArray copy = *held;
    held.reset();
    cache.trim();
    QVERIFY(!cache.contains(QStringLiteral("a")));
    QCOMPARE(pool.pooledBytes(), 0);
    QCOMPARE(copy.at(100), 'a');
}

QTEST_GUILESS_MAIN(TestChunkBufferPool)
#include "tst_chunkbufferpool.moc"

void TestChunkBufferPool::grantsRaiseAndLowerTheLimit()
{
    ChunkBufferPool pool(30 * kMiB);
    pool.grant(80 * kMiB);
    QCOMPARE(pool.maxBytes(), 80 * kMiB); // the larger of the base and the grants
    for (char fill : {'x', 'y', 'z'})
        pool.give(QByteArray(20 * kMiB, fill));
    QVERIFY(pool.pooledBytes() >= 60 * kMiB); // three free chunks kept, not one
    pool.grant(-80 * kMiB);
    QCOMPARE(pool.maxBytes(), 30 * kMiB);
    QVERIFY(pool.pooledBytes() <= 30 * kMiB); // the buffers above the lowered limit went
}

// Three chunks evicted at once (as with prefetch on, at a token's turn) all wait for the next
// receives while the cache whose budget they filled lives; the pool gives that back when it goes.
void TestChunkBufferPool::cacheBudgetIsGrantedWhileTheCacheLives()
{
    ChunkBufferPool &pool = ChunkBufferPool::instance();
    const qint64 base = pool.maxBytes();
    while (pool.pooledBytes() > 0)
        (void)pool.take(1);
    const qint64 chunk = base / 2 + kMiB; // the base alone keeps one of them
    const qint64 budget = 3 * chunk + kMiB;
    {
        ClientCache cache(CachePolicyKind::Lru);
        cache.setBudget(budget, 0);
        QCOMPARE(pool.maxBytes(), budget);
        for (const char *name : {"a", "b", "c"})
            cache.insert(QString::fromLatin1(name), chunkOf(chunk, name[0]));
        cache.insert(QStringLiteral("big"), chunkOf(3 * chunk, 'B')); // evicts a, b and c at once
        QVERIFY(!cache.contains(QStringLiteral("c")));
        QVERIFY(pool.pooledBytes() >= 3 * chunk);
        cache.setBudget(chunk, 0); // the GUI lowers the budget
        QCOMPARE(pool.maxBytes(), qMax(base, chunk));
        QVERIFY(pool.pooledBytes() <= pool.maxBytes());
    }
    QCOMPARE(pool.maxBytes(), base);
    QVERIFY(pool.pooledBytes() <= base);
}
