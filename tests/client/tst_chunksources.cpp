// LocalChunkSource and the chunk verifier: verified, decoded bytes; prefetch never fetches a
// chunk twice; a corrupt chunk is an error naming it, never bytes.
#include "cache/chunkbufferpool.h"
#include "client/chunkverifier.h"
#include "client/localchunksource.h"
#include "clienttestdata.h"
#include "serveprocess.h"
#include "testsupport.h"

#include <QTemporaryDir>
#include <atomic>
#include <thread>
#include <QtTest>

using namespace surfing;
using namespace surfing::test;

class TestChunkSources : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void verifierRejectsWrongBytes();
    void localSourceDeliversDecodedChunks_data();
    void localSourceDeliversDecodedChunks();
    void prefetchFetchesOnce();
    void bufferPoolKeepsTheLayersOnTheirWayAtOnce();
    void prefetchedChunkReportsItsFetchOnFirstUse();
    void corruptChunkIsAnErrorNamingIt();
    void unknownChunkIsAnError();
    void computeThreadsShareOneSource();

private:
    QTemporaryDir m_tmp;
    QString m_plain;
    QString m_compressed;
};

void TestChunkSources::initTestCase()
{
    qputenv("SURFING_BUFFER_POOL_MB", "0"); // before the pool is made: only what is granted counts
    if (sharedModel(QStringLiteral("bert-random")).isEmpty())
        QSKIP("../shared/models/bert-random is not available");
    m_plain = m_tmp.filePath(QStringLiteral("plain"));
    m_compressed = m_tmp.filePath(QStringLiteral("compressed"));
    QVERIFY(chunkSharedModel(QStringLiteral("bert-random"), m_plain));
    QVERIFY(chunkSharedModel(QStringLiteral("bert-random"), m_compressed, {QStringLiteral("--compress")}));
}

void TestChunkSources::verifierRejectsWrongBytes()
{
    const ChunkManifest manifest = ChunkManifest::load(m_plain);
    const ManifestChunk &chunk = manifest.chunks.at(1);
    QByteArray stored = readFile(m_plain + QLatin1Char('/') + chunk.file);
    verifyStoredChunk(stored, chunk, QStringLiteral("test"));
    stored[stored.size() / 2] = char(stored[stored.size() / 2] ^ 1);
    try {
        verifyAndDecodeChunk(stored, chunk, QStringLiteral("test"));
        QFAIL("a damaged chunk was accepted");
    } catch (const ChunkIntegrityError &e) {
        QVERIFY2(e.message().contains(chunk.name) && e.message().contains(QLatin1String("SHA-256")), qPrintable(e.message()));
    }
    QVERIFY_THROWS_EXCEPTION(ChunkIntegrityError, verifyStoredChunk(stored.left(10), chunk, QStringLiteral("test")));
}

void TestChunkSources::localSourceDeliversDecodedChunks_data()
{
    QTest::addColumn<bool>("compressed");
    QTest::newRow("none") << false;
    QTest::newRow("zstd-bytegroup") << true;
}

void TestChunkSources::localSourceDeliversDecodedChunks()
{
    QFETCH(bool, compressed);
    const QString dir = compressed ? m_compressed : m_plain;
    const ExpectedChunks expected = loadExpectedChunks(dir);
    LocalChunkSource source(dir, 0, 0);
    QCOMPARE(source.manifest().chunks.size(), expected.manifest.chunks.size());
    for (const ManifestChunk &c : expected.manifest.chunks) {
        ChunkFetch fetch;
        const auto bytes = source.acquire(c.name, &fetch);
        QVERIFY(bytes);
        QVERIFY2(*bytes == expected.decoded.value(c.name), qPrintable(c.name));
        QVERIFY(!fetch.cacheHit);
        QCOMPARE(fetch.bytes, c.storedBytes);
        QVERIFY(fetch.fetchEndNs >= fetch.fetchStartNs);
    }
    ChunkFetch again;
    QVERIFY(*source.acquire(expected.manifest.chunks.first().name, &again) == expected.decoded.value(expected.manifest.chunks.first().name));
    QVERIFY(again.cacheHit);
    QCOMPARE(again.bytes, 0);
    QCOMPARE(source.cache().stats().hits, 1);
}

void TestChunkSources::prefetchFetchesOnce()
{
    LocalChunkSource source(m_compressed, 0, 0);
    const QString name = source.manifest().chunks.at(1).name;
    source.prefetch(name);
    source.prefetch(name);
    const auto bytes = source.acquire(name);
    source.prefetch(name); // cached now
    QVERIFY(bytes);
    QCOMPARE(source.fetchesStarted(), 1);
    QCOMPARE(source.cache().stats().residentChunks, 1);
}

// Layers that come free at a token's turn stay for the next arrivals, up to as many bytes of layers
// as were on their way at once (beside the budgets), not back to the kernel to be faulted in again;
// chunks that are not layers (embeddings, fetched once and held) add nothing.
void TestChunkSources::bufferPoolKeepsTheLayersOnTheirWayAtOnce()
{
    ChunkBufferPool &pool = ChunkBufferPool::instance(); // no base: SURFING_BUFFER_POOL_MB=0 (initTestCase)
    const qint64 before = pool.maxBytes();
    {
        LocalChunkSource source(m_plain, 0, 0);
        QList<ManifestChunk> layers, others;
        for (const ManifestChunk &chunk : source.manifest().chunks)
            (chunk.index >= 0 ? layers : others).append(chunk);
        QVERIFY(layers.size() >= 2 && !others.isEmpty());
        for (const ManifestChunk &chunk : others)
            source.prefetch(chunk.name);
        QCOMPARE(pool.maxBytes(), before);
        qint64 largest = 0, all = 0;
        for (const ManifestChunk &chunk : layers) {
            source.prefetch(chunk.name);
            largest = qMax(largest, chunk.storedBytes);
            all += chunk.storedBytes;
        }
        for (const ManifestChunk &chunk : source.manifest().chunks)
            QVERIFY(source.acquire(chunk.name));
        const qint64 kept = pool.maxBytes() - before;
        QVERIFY2(kept >= largest && kept <= all,
                 qPrintable(QStringLiteral("the pool may keep %1 more bytes; the largest layer has %2, all layers %3")
                                .arg(kept)
                                .arg(largest)
                                .arg(all)));
    }
    QCOMPARE(pool.maxBytes(), before);
}

// The timeline draws a prefetched chunk's fetch beside the compute it overlapped, so the first
// use of a prefetched chunk carries that fetch's bytes and times; later uses are plain hits.
void TestChunkSources::prefetchedChunkReportsItsFetchOnFirstUse()
{
    LocalChunkSource source(m_compressed, 0, 0);
    const ManifestChunk chunk = source.manifest().chunks.at(1);
    const qint64 before = timelineClockNs();
    source.prefetch(chunk.name);
    QTRY_VERIFY(source.cache().contains(chunk.name));
    ChunkFetch first;
    source.acquire(chunk.name, &first);
    QVERIFY(first.cacheHit);
    QVERIFY(first.prefetched);
    QCOMPARE(first.bytes, chunk.storedBytes);
    QVERIFY(first.fetchStartNs >= before);
    QVERIFY(first.fetchEndNs >= first.fetchStartNs);

    ChunkFetch second;
    source.acquire(chunk.name, &second);
    QVERIFY(second.cacheHit);
    QVERIFY(!second.prefetched);
    QCOMPARE(second.bytes, 0);
    QCOMPARE(second.fetchStartNs, 0);
}

void TestChunkSources::corruptChunkIsAnErrorNamingIt()
{
    const QString dir = m_tmp.filePath(QStringLiteral("corrupt"));
    QVERIFY(copyDir(m_compressed, dir));
    const ChunkManifest manifest = ChunkManifest::load(dir);
    const ManifestChunk &bad = manifest.chunks.at(2);
    QVERIFY(corruptFile(dir + QLatin1Char('/') + bad.file));
    LocalChunkSource source(dir);
    source.prefetch(bad.name); // a failed prefetch is retried (and reported) by acquire
    try {
        source.acquire(bad.name);
        QFAIL("the corrupt chunk was handed out");
    } catch (const surfing::Error &e) {
        QVERIFY2(e.message().contains(QStringLiteral("'%1'").arg(bad.name)), qPrintable(e.message()));
        QVERIFY2(e.message().contains(QLatin1String("SHA-256")), qPrintable(e.message()));
    }
    QVERIFY(!source.cache().contains(bad.name));
    QVERIFY(source.acquire(manifest.chunks.at(1).name)); // the others are fine
}

void TestChunkSources::unknownChunkIsAnError()
{
    LocalChunkSource source(m_plain);
    QVERIFY_THROWS_EXCEPTION(surfing::Error, source.acquire(QStringLiteral("layer_99")));
    QVERIFY_THROWS_EXCEPTION(surfing::Error, LocalChunkSource(m_tmp.filePath(QStringLiteral("nowhere"))));
}

// Several compute threads acquiring the same chunks with a one-chunk cache: each gets the right
// bytes, whatever the interleaving.
void TestChunkSources::computeThreadsShareOneSource()
{
    const ExpectedChunks expected = loadExpectedChunks(m_compressed);
    LocalChunkSource source(m_compressed, 0, 1);
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int pass = 0; pass < 3; ++pass) {
                for (const ManifestChunk &c : expected.manifest.chunks) {
                    if (*source.acquire(c.name) != expected.decoded.value(c.name))
                        ++wrong;
                }
            }
        });
    }
    for (std::thread &t : threads)
        t.join();
    QCOMPARE(wrong.load(), 0);
}

QTEST_GUILESS_MAIN(TestChunkSources)
#include "tst_chunksources.moc"
