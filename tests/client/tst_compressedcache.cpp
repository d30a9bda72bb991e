// The compressed cache tier below the decoded ClientCache: its budget, eviction order and sizes
// (CompressedChunkCache), how a chunk source serves decoded-tier misses from it (decoded from
// the verified bytes, damaged bytes refused and fetched again), and end to end: `surfing-cli run
// --compressed-cache-mb` against a real `surfing-cli serve` gives the golden ids.
#include "cache/compressedchunkcache.h"
#include "client/localchunksource.h"
#include "clienttestdata.h"
#include "serveprocess.h"
#include "testsupport.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QtTest>
#include <atomic>
#include <thread>
#include <vector>

using namespace surfing;
using namespace surfing::test;

namespace {

QByteArray bytesOf(qint64 size, char fill)
{
    return QByteArray(size, fill);
}

// What the decoded tier does on a cyclic walk: look the chunk up, insert it on a miss.
int walk(CompressedChunkCache &tier, const QStringList &names, qint64 size)
{
    int hits = 0;
    for (const QString &name : names) {
        if (!tier.lookup(name).isEmpty())
            ++hits;
        else
            tier.insert(name, bytesOf(size, 'x'));
    }
    return hits;
}

} // namespace

class TestCompressedCache : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    // CompressedChunkCache
    void offHoldsNothing();
    void budgetBoundsTheBytesHeld();
    void scanKeepsTheFirstChunksResident();
    void spareCapacityIsNotHeld();
    void evictedBytesStayValidForTheirHolder();
    void removeAndRefuse();
    // Through a chunk source
    void missesAreDecodedFromTheTier();
    void uncompressedChunksStayOut();
    void hotDecodedChunkLeavesTheTier();
    void damagedTierBytesAreRefusedAndFetchedAgain();
    void threadsShareTheTier();
    // End to end
    void serverRunWithTierMatchesGolden();

private:
    QTemporaryDir m_tmp;
    QString m_plain;
    QString m_compressed;
};

void TestCompressedCache::initTestCase()
{
    if (sharedModel(QStringLiteral("bert-random")).isEmpty())
        QSKIP("../shared/models/bert-random is not available");
    m_plain = m_tmp.filePath(QStringLiteral("plain"));
    m_compressed = m_tmp.filePath(QStringLiteral("compressed"));
    QVERIFY(chunkSharedModel(QStringLiteral("bert-random"), m_plain));
    QVERIFY(chunkSharedModel(QStringLiteral("bert-random"), m_compressed, {QStringLiteral("--compress")}));
}

void TestCompressedCache::offHoldsNothing()
{
    CompressedChunkCache tier;
    QVERIFY(!tier.isEnabled());
    tier.insert(QStringLiteral("a"), bytesOf(10, 'a'));
    QVERIFY(!tier.contains(QStringLiteral("a")));
    QVERIFY(tier.lookup(QStringLiteral("a")).isEmpty());
    QCOMPARE(tier.stats().misses, 0); // an absent tier counts nothing
    tier.setBudget(100);
    tier.insert(QStringLiteral("a"), bytesOf(10, 'a'));
    tier.setBudget(0); // turning it off lets everything go
    QCOMPARE(tier.stats().residentBytes, 0);
    QVERIFY(!tier.contains(QStringLiteral("a")));
}

void TestCompressedCache::budgetBoundsTheBytesHeld()
{
    CompressedChunkCache tier;
    tier.setBudget(100);
    tier.insert(QStringLiteral("a"), bytesOf(40, 'a'));
    tier.insert(QStringLiteral("b"), bytesOf(40, 'b'));
    QCOMPARE(tier.stats().residentBytes, 80);
    tier.insert(QStringLiteral("c"), bytesOf(40, 'c'));
    QCOMPARE(tier.stats().residentBytes, 80);
    QCOMPARE(tier.stats().residentChunks, 2);
    QCOMPARE(tier.stats().evictions, 1);
    tier.insert(QStringLiteral("huge"), bytesOf(101, 'h')); // larger than the whole budget: left out
    QVERIFY(!tier.contains(QStringLiteral("huge")));
    QCOMPARE(tier.stats().residentBytes, 80);
    tier.insert(QStringLiteral("c"), bytesOf(40, 'z')); // held already: kept as it is
    QCOMPARE(tier.stats().residentBytes, 80);
    tier.setBudget(50);
    QCOMPARE(tier.stats().residentBytes, 40);
    QCOMPARE(tier.stats().residentChunks, 1);
    QCOMPARE(tier.stats().insertions, 3);
}

// Room for 3 of 6 chunks walked in a cycle: the scan-resistant policy keeps the first ones (and
// rotates one slot), so every later pass hits; plain LRU evicts each just before its reuse.
void TestCompressedCache::scanKeepsTheFirstChunksResident()
{
    const QStringList names{QStringLiteral("l0"), QStringLiteral("l1"), QStringLiteral("l2"),
                            QStringLiteral("l3"), QStringLiteral("l4"), QStringLiteral("l5")};
    CompressedChunkCache scan(CachePolicyKind::ScanResistant);
    scan.setBudget(30);
    QCOMPARE(walk(scan, names, 10), 0);
    for (int pass = 0; pass < 3; ++pass)
        QCOMPARE(walk(scan, names, 10), 2);
    QVERIFY(scan.contains(QStringLiteral("l0")) && scan.contains(QStringLiteral("l1")));
    QVERIFY(scan.stats().residentBytes <= 30);

    CompressedChunkCache lru(CachePolicyKind::Lru);
    lru.setBudget(30);
    for (int pass = 0; pass < 4; ++pass)
        QCOMPARE(walk(lru, names, 10), 0);
}

void TestCompressedCache::spareCapacityIsNotHeld()
{
    CompressedChunkCache tier;
    tier.setBudget(1 << 20);
    QByteArray pooled(100000, 'p');
    pooled.reserve(400000); // a receive buffer taken from the pool: a decoded chunk's
    pooled.resize(100000);
    tier.insert(QStringLiteral("a"), pooled);
    const QByteArray held = tier.lookup(QStringLiteral("a"));
    QCOMPARE(held, pooled);
    QVERIFY2(held.capacity() < 110000, qPrintable(QString::number(held.capacity())));
    QCOMPARE(tier.stats().residentBytes, 100000);
}

void TestCompressedCache::evictedBytesStayValidForTheirHolder()
{
    CompressedChunkCache tier;
    tier.setBudget(50);
    tier.insert(QStringLiteral("a"), bytesOf(40, 'a'));
    const QByteArray decoding = tier.lookup(QStringLiteral("a"));
    tier.insert(QStringLiteral("b"), bytesOf(40, 'b'));
    QVERIFY(!tier.contains(QStringLiteral("a")));
    QCOMPARE(decoding, bytesOf(40, 'a'));
}

void TestCompressedCache::removeAndRefuse()
{
    CompressedChunkCache tier;
    tier.setBudget(100);
    tier.insert(QStringLiteral("a"), bytesOf(10, 'a'));
    tier.insert(QStringLiteral("b"), bytesOf(10, 'b'));
    tier.remove(QStringLiteral("a"));
    QVERIFY(!tier.contains(QStringLiteral("a")));
    tier.refuse(QStringLiteral("b"));
    QVERIFY(!tier.contains(QStringLiteral("b")));
    QCOMPARE(tier.stats().refused, 1);
    QCOMPARE(tier.stats().residentBytes, 0);
    QCOMPARE(tier.stats().evictions, 0); // neither is an eviction
}

// A decoded tier of one chunk and a tier holding the whole model: after the first pass every
// chunk comes from the tier, decoded to the same bytes, with no fetch.
void TestCompressedCache::missesAreDecodedFromTheTier()
{
    const ExpectedChunks expected = loadExpectedChunks(m_compressed);
    LocalChunkSource source(m_compressed, 0, 1);
    source.setCompressedCacheBudget(64 << 20);
    for (int pass = 0; pass < 3; ++pass) {
        for (const ManifestChunk &c : expected.manifest.chunks)
            QCOMPARE(*source.acquire(c.name), expected.decoded.value(c.name));
    }
    const int chunks = int(expected.manifest.chunks.size());
    QCOMPARE(source.fetchesStarted(), chunks);
    const CompressedCacheStats s = source.compressedCache().stats();
    QCOMPARE(s.hits, 2 * chunks); // the decoded tier's one chunk is always the previous one
    QCOMPARE(s.residentChunks, chunks);
    QCOMPARE(s.refused, 0);
    qint64 stored = 0;
    for (const ManifestChunk &c : expected.manifest.chunks)
        stored += c.storedBytes;
    QCOMPARE(s.residentBytes, stored);
}

void TestCompressedCache::uncompressedChunksStayOut()
{
    const ExpectedChunks expected = loadExpectedChunks(m_plain);
    LocalChunkSource source(m_plain, 0, 1);
    source.setCompressedCacheBudget(64 << 20);
    for (int pass = 0; pass < 2; ++pass) {
        for (const ManifestChunk &c : expected.manifest.chunks)
            QCOMPARE(*source.acquire(c.name), expected.decoded.value(c.name));
    }
    QCOMPARE(source.compressedCache().stats().residentChunks, 0);
    QCOMPARE(source.fetchesStarted(), 2 * expected.manifest.chunks.size());
}

void TestCompressedCache::hotDecodedChunkLeavesTheTier()
{
    const ChunkManifest manifest = ChunkManifest::load(m_compressed);
    const QString name = manifest.chunks.at(1).name;
    LocalChunkSource source(m_compressed, 0, 0);
    source.setCompressedCacheBudget(64 << 20);
    source.acquire(name);
    QVERIFY(source.compressedCache().contains(name));
    source.acquire(name); // reused from the decoded tier: the tier's copy is room wasted
    QVERIFY(!source.compressedCache().contains(name));
}

// The tier's bytes are checked again before decoding: damaged ones are dropped, the chunk is
// fetched again, and the caller gets the right bytes.
void TestCompressedCache::damagedTierBytesAreRefusedAndFetchedAgain()
{
    const ExpectedChunks expected = loadExpectedChunks(m_compressed);
    const ManifestChunk &chunk = expected.manifest.chunks.at(1);
    LocalChunkSource source(m_compressed, 0, 1);
    source.setCompressedCacheBudget(64 << 20);
    for (const ManifestChunk &c : expected.manifest.chunks)
        source.acquire(c.name);
    QByteArray damaged = source.compressedCache().lookup(chunk.name);
    QCOMPARE(damaged.size(), chunk.storedBytes);
    const QByteArray good = QByteArray(damaged.constData(), damaged.size());
    damaged.detach();
    damaged[damaged.size() / 2] = char(damaged[damaged.size() / 2] ^ 0x10);
    source.compressedCache().remove(chunk.name);
    source.compressedCache().insert(chunk.name, damaged);
    const qint64 fetches = source.fetchesStarted();

    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("compressed cache: refusing its copy.*%1").arg(chunk.name)));
    QCOMPARE(*source.acquire(chunk.name), expected.decoded.value(chunk.name));
    QCOMPARE(source.compressedCache().stats().refused, 1);
    QCOMPARE(source.fetchesStarted(), fetches + 1);
    QCOMPARE(source.compressedCache().lookup(chunk.name), good); // the fetched bytes took its place
}

// Compute threads walking the model with prefetch over a decoded tier of one chunk and a tier
// too small for the model: decodes, fetches, evictions and buffer reuse interleave (run it under
// ThreadSanitizer: scripts/sanitize.sh thread -R tst_compressedcache).
void TestCompressedCache::threadsShareTheTier()
{
    const ExpectedChunks expected = loadExpectedChunks(m_compressed);
    qint64 stored = 0;
    for (const ManifestChunk &c : expected.manifest.chunks)
        stored += c.storedBytes;
    LocalChunkSource source(m_compressed, 0, 1);
    source.setCompressedCacheBudget(stored / 2);
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) {
        threads.emplace_back([&, t] {
            const auto &chunks = expected.manifest.chunks;
            for (int pass = 0; pass < 4; ++pass) {
                for (int i = 0; i < chunks.size(); ++i) {
                    const int at = (i + t) % int(chunks.size());
                    source.prefetch(chunks.at((at + 1) % int(chunks.size())).name);
                    if (*source.acquire(chunks.at(at).name) != expected.decoded.value(chunks.at(at).name))
                        ++wrong;
                }
            }
        });
    }
    for (std::thread &thread : threads)
        thread.join();
    QCOMPARE(wrong.load(), 0);
    QVERIFY(source.compressedCache().stats().hits > 0);
    QVERIFY(source.compressedCache().stats().residentBytes <= stored / 2);
}

// `surfing-cli run --compressed-cache-mb` against a real server: a decoded cache of 2 chunks
// for a 7-chunk model, the tier below it; the greedy ids are the golden ones.
void TestCompressedCache::serverRunWithTierMatchesGolden()
{
    const QString stories = sharedModel(QStringLiteral("stories260K"));
    if (stories.isEmpty())
        QSKIP("../shared/models/stories260K is not available");
    const QString dir = m_tmp.filePath(QStringLiteral("stories"));
    QVERIFY(chunkSharedModel(QStringLiteral("stories260K"), dir, {QStringLiteral("--compress")}));
    const QJsonObject golden = readJsonObject(stories + QStringLiteral("/golden/prompts.json"))
                                   .value(QLatin1String("prompts")).toArray().at(0).toObject();
    ServeProcess server;
    QVERIFY(server.start({dir}));
    const CliResult r = runCli({QStringLiteral("run"), QStringLiteral("--server"), server.url().toString(), QStringLiteral("--json"),
                                QStringLiteral("--prompt"), golden.value(QLatin1String("prompt")).toString(),
                                QStringLiteral("--max-tokens"), QStringLiteral("32"), QStringLiteral("--cache-layers"), QStringLiteral("2"),
                                QStringLiteral("--prefetch"), QStringLiteral("1"), QStringLiteral("--compressed-cache-mb"), QStringLiteral("8")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonObject out = QJsonDocument::fromJson(r.out).object();
    const QVector<qint64> ids = idsFromJson(out.value(QLatin1String("ids")));
    QCOMPARE(ids, idsFromJson(golden.value(QLatin1String("greedy_ids"))).mid(0, 32));
    const QJsonObject tiers = out.value(QLatin1String("client_cache")).toObject();
    const QJsonObject compressed = tiers.value(QLatin1String("compressed")).toObject();
    QVERIFY2(compressed.value(QLatin1String("hits")).toDouble() > 0, r.out.constData());
    QCOMPARE(compressed.value(QLatin1String("refused")).toDouble(), 0.0);
    QCOMPARE(compressed.value(QLatin1String("budget_bytes")).toDouble(), 8.0 * (1 << 20));
    QVERIFY(tiers.value(QLatin1String("decoded")).toObject().value(QLatin1String("misses")).toDouble() > 0);
    QCOMPARE(server.terminate(), 0);

    const CliResult bad = runCli({QStringLiteral("run"), QStringLiteral("--local"), dir, QStringLiteral("--ids"), QStringLiteral("1"),
                                  QStringLiteral("--compressed-cache-mb"), QStringLiteral("-5")});
    QCOMPARE(bad.exitCode, 2);
    QVERIFY2(bad.err.contains("--compressed-cache-mb must be a number"), bad.err.constData());
}

QTEST_GUILESS_MAIN(TestCompressedCache)
#include "tst_compressedcache.moc"
