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
    void smallBuffersAreLeftToMalloc();
    void recycleOnlyByTheLastOwner();
    void evictionHandsTheBufferToTheNextReceive();
    void chunkHeldByComputeIsNotReused();
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
