// WeightStream's prefetch window: it keeps `depth` chunks on their way, walking past the units
// already in the cache, so a chunk that is missing many units ahead is asked for early; and it
// tells the source where compute is in its order.
#include "cache/prefetchtuner.h"
#include "client/chunksource.h"
#include "format/safetensors.h"
#include "inference/unitweights.h"
#include "inference/weightstream.h"

#include <QSet>
#include <QtTest>

using namespace surfing;

namespace {

// A source whose cache holds `cached`; prefetch() of anything else counts as on its way.
class ScriptedSource : public ChunkSource
{
public:
    ScriptedSource(const QStringList &units, const QSet<QString> &cached) : m_cached(cached)
    {
        for (const QString &u : units) {
            ManifestChunk chunk;
            chunk.name = u;
            m_manifest.chunks.append(chunk);
        }
        const QByteArray one(4, '\0');
        m_chunk = std::make_shared<const QByteArray>(serializeSafetensors({TensorView{QStringLiteral("w"), Dtype::F32, {1}, one}}));
    }
    const ChunkManifest &manifest() const override { return m_manifest; }
    bool prefetch(const QString &name) override
    {
        prefetched << name;
        return !m_cached.contains(name);
    }
    void setUpcoming(const QStringList &order, int next) override { upcoming = order.value(next); }
    std::shared_ptr<const QByteArray> acquire(const QString &, ChunkFetch *) override
    {
        QThread::msleep(acquireMs);
        return m_chunk;
    }

    QStringList prefetched;
    unsigned long acquireMs = 0;
    QString upcoming;

private:
    ChunkManifest m_manifest;
    QSet<QString> m_cached;
    std::shared_ptr<const QByteArray> m_chunk;
};

} // namespace

class TestWeightStream : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void windowWalksPastCachedUnits();
    void windowWrapsToTheNextStep();
    void sourceHearsWhereComputeIs();
    void adaptiveWindowKeepsTheFasterDepth();
};

void TestWeightStream::windowWalksPastCachedUnits()
{
    const QStringList order{QStringLiteral("u0"), QStringLiteral("u1"), QStringLiteral("u2"), QStringLiteral("u3"),
                            QStringLiteral("u4"), QStringLiteral("u5")};
    ScriptedSource source(order, {QStringLiteral("u1"), QStringLiteral("u2"), QStringLiteral("u4")});
    WeightStream stream(source, 2);
    stream.beginStep(order);
    source.prefetched.clear();
    stream.acquire(QStringLiteral("u0"));
    // u1 and u2 are here already; the two that have to come are u3 and u5.
    QCOMPARE(source.prefetched, (QStringList{QStringLiteral("u1"), QStringLiteral("u2"), QStringLiteral("u3"),
                                             QStringLiteral("u4"), QStringLiteral("u5")}));
}

void TestWeightStream::windowWrapsToTheNextStep()
{
    const QStringList order{QStringLiteral("u0"), QStringLiteral("u1"), QStringLiteral("u2")};
    ScriptedSource source(order, {QStringLiteral("u2")});
    WeightStream stream(source, 1);
    stream.beginStep(order);
    source.prefetched.clear();
    stream.acquire(QStringLiteral("u1"));
    QCOMPARE(source.prefetched, (QStringList{QStringLiteral("u2"), QStringLiteral("u0")}));

    // Everything cached: one walk of the order at most, nothing asked twice.
    ScriptedSource all(order, {QStringLiteral("u0"), QStringLiteral("u1"), QStringLiteral("u2")});
    WeightStream cached(all, 2);
    cached.beginStep(order);
    all.prefetched.clear();
    cached.acquire(QStringLiteral("u0"));
    QCOMPARE(all.prefetched, (QStringList{QStringLiteral("u1"), QStringLiteral("u2"), QStringLiteral("u0")}));
}

void TestWeightStream::sourceHearsWhereComputeIs()
{
    const QStringList order{QStringLiteral("u0"), QStringLiteral("u1")};
    ScriptedSource source(order, {});
    WeightStream stream(source, 0);
    stream.beginStep(order);
    stream.acquire(QStringLiteral("u1"));
    QCOMPARE(source.upcoming, QStringLiteral("u1"));
    QVERIFY(source.prefetched.isEmpty()); // depth 0: no prefetch at all
}

// Runs one step over `order`: every unit acquired and computed.
static void runStep(WeightStream &stream, const QStringList &order, WeightStream::StepKind kind)
{
    stream.beginStep(order, kind);
    for (const QString &unit : order) {
        const UnitWeights w = stream.acquire(unit);
        auto scope = stream.computeScope(unit);
    }
}

void TestWeightStream::adaptiveWindowKeepsTheFasterDepth()
{
    const QStringList order{QStringLiteral("u0"), QStringLiteral("u1"), QStringLiteral("u2")};
    ScriptedSource source(order, {});
    WeightStream stream(source, 2);
    stream.setPrefetchDepth(2, true);
    QVERIFY(stream.isPrefetchAdaptive());
    // Next-token steps alternate between the window and none; here prefetching makes every
    // acquire slow (as fetching beside compute does on two shared cores).
    QVector<int> depths;
    for (int i = 0; i < 4 * PrefetchTuner::kSamplesPerDepth - 1; ++i) {
        source.prefetched.clear();
        stream.beginStep(order, WeightStream::StepKind::NextToken);
        depths << stream.prefetchDepth();
        source.acquireMs = depths.last() > 0 ? 15 : 0;
        for (const QString &unit : order) {
            const UnitWeights w = stream.acquire(unit);
            auto scope = stream.computeScope(unit);
        }
        QCOMPARE(source.prefetched.isEmpty(), depths.last() == 0);
    }
    QCOMPARE(depths, (QVector<int>{2, 0, 0, 2, 2, 0, 0, 2, 2, 0, 0}));
    source.acquireMs = 0;
    runStep(stream, order, WeightStream::StepKind::NextToken);
    QCOMPARE(stream.prefetchDepth(), 0);
    // A prompt is other work: it runs at the full window and is not compared.
    runStep(stream, order, WeightStream::StepKind::Prompt);
    QCOMPARE(stream.prefetchDepth(), 2);
    runStep(stream, order, WeightStream::StepKind::NextToken);
    QCOMPARE(stream.prefetchDepth(), 0);

    // Fixed again: the depth asked for, every step.
    stream.setPrefetchDepth(1);
    QVERIFY(!stream.isPrefetchAdaptive());
    runStep(stream, order, WeightStream::StepKind::NextToken);
    QCOMPARE(stream.prefetchDepth(), 1);
}

QTEST_GUILESS_MAIN(TestWeightStream)
#include "tst_weightstream.moc"
