// The client's memory stays within what the user allowed while a generated LLaMA streams from a
// real `surfing-cli serve` process with a byte budget smaller than the model: at the end of every
// unit of every step, the chunks resident in the client cache are at most the budget + the
// prefetch window + the units compute still holds (the current layer and the tied embedding the
// LM head needs). The bound holds whenever prefetches land, so the test does not depend on timing.
// Peak RSS itself (libtorch's footprint, the moment prefetches arrive) is measured by
// bench/run-inference.sh, not asserted here.
#include "dirchunksource.h"
#include "testsupport.h"

#include "client/remotechunksource.h"
#include "format/chunkmanifest.h"
#include "format/modelconfig.h"
#include "inference/decodermodel.h"
#include "inference/generation.h"
#include "inference/weightstream.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>

using namespace surfing;
using namespace surfing::test;

class TestMemoryBound : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_tmp;
    QString m_chunks;
    QProcess m_server;
    QUrl m_url;

    std::vector<int64_t> generateWith(ChunkSource &source, int depth, const std::function<void(const LayerEvent &)> &afterUnit);

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void residentChunksStayWithinBudgetAndWindow_data();
    void residentChunksStayWithinBudgetAndWindow();
};

void TestMemoryBound::initTestCase()
{
    QVERIFY(m_tmp.isValid());
    QByteArray error;
    m_chunks = makeChunkedModel(m_tmp.path(), {QStringLiteral("--layers"), QStringLiteral("6"), QStringLiteral("--hidden"), QStringLiteral("128"),
                                               QStringLiteral("--intermediate"), QStringLiteral("344"), QStringLiteral("--heads"), QStringLiteral("4"),
                                               QStringLiteral("--kv-heads"), QStringLiteral("2"), QStringLiteral("--vocab"), QStringLiteral("1024")},
                                &error);
    QVERIFY2(!m_chunks.isEmpty(), error.constData());

    m_server.start(cliPath(), {QStringLiteral("serve"), m_chunks, QStringLiteral("--host"), QStringLiteral("127.0.0.1"),
                               QStringLiteral("--port"), QStringLiteral("0")});
    QVERIFY(m_server.waitForStarted());
    QByteArray line;
    while (!line.contains('\n') && m_server.state() == QProcess::Running && m_server.waitForReadyRead(-1))
        line += m_server.readAllStandardOutput();
    m_url = QUrl(QString::fromUtf8(line.trimmed()));
    QVERIFY2(m_url.scheme() == QLatin1String("ws"), line.constData());
}

void TestMemoryBound::cleanupTestCase()
{
    m_server.terminate();
    m_server.waitForFinished(-1);
}

std::vector<int64_t> TestMemoryBound::generateWith(ChunkSource &source, int depth, const std::function<void(const LayerEvent &)> &afterUnit)
{
    WeightStream stream(source, depth);
    stream.setEventSink(afterUnit);
    auto model = makeDecoderModel(ModelConfig::load(m_chunks));
    GenerationOptions gen;
    gen.maxNewTokens = 6;
    gen.stopAtEos = false;
    const GenerationResult r = generate(*model, stream, at::tensor(std::vector<int64_t>{1, 5, 9, 300}, at::kLong).view({1, -1}), {}, gen);
    return r.newIds[0];
}

void TestMemoryBound::residentChunksStayWithinBudgetAndWindow_data()
{
    QTest::addColumn<int>("depth");
    QTest::newRow("prefetch off") << 0;
    QTest::newRow("prefetch 2") << 2;
}

void TestMemoryBound::residentChunksStayWithinBudgetAndWindow()
{
    QFETCH(int, depth);
    const ChunkManifest manifest = ChunkManifest::load(m_chunks);
    qint64 largest = 0, layer = 0;
    for (const ManifestChunk &c : manifest.chunks) {
        largest = std::max(largest, c.rawBytes);
        if (c.name.startsWith(QLatin1String("layer_")))
            layer = std::max(layer, c.rawBytes);
    }
    const qint64 budget = 2 * layer + layer / 2;

    RemoteChunkSourceOptions o;
    o.client.url = m_url;
    o.cacheBytes = budget;
    RemoteChunkSource remote(o);
    qint64 peak = 0;
    int units = 0, arriving = 0;
    const std::vector<int64_t> streamed = generateWith(remote, depth, [&](const LayerEvent &e) {
        peak = std::max(peak, remote.cache().stats().residentBytes);
        ++units;
        arriving += e.arriving ? 1 : 0;
    });

    DirChunkSource whole(m_chunks);
    const std::vector<int64_t> inMemory = generateWith(whole, 0, [](const LayerEvent &) {});
    QCOMPARE(streamed, inMemory);
    QCOMPARE(units, 6 * int(manifest.chunks.size()));
    QVERIFY2(remote.fetchesStarted() > manifest.chunks.size(), "the budget should force refetches");
    // Re-fetched layers were computed on as they arrived, with the same output, and the timeline
    // says which.
    QVERIFY(remote.arrivalsHandedOut() > 0);
    QCOMPARE(arriving, remote.arrivalsHandedOut());
    constexpr int kInUse = 2; // the layer computing and the tied embedding held for the LM head
    const qint64 bound = budget + qint64(depth + kInUse) * largest;
    qInfo("budget %lld, peak resident %lld, bound %lld bytes", budget, peak, bound);
    QVERIFY2(peak <= bound, qPrintable(QStringLiteral("resident %1 bytes > bound %2").arg(peak).arg(bound)));
    QVERIFY2(peak >= layer, "the cache should have held at least one layer");
}

QTEST_GUILESS_MAIN(TestMemoryBound)
#include "tst_memorybound.moc"
