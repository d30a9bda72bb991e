// WeightStream's prefetch window: the next D units the cache does not hold, so that cached units
// between streamed ones do not leave a streamed unit only a few units' compute to arrive in.
#include "client/chunksource.h"
#include "inference/weightstream.h"

#include <QSet>
#include <QtTest>

using namespace surfing;

namespace {

// Records what the stream asks for; `cached` plays the client cache.
class RecordingSource : public ChunkSource
{
public:
    const ChunkManifest &manifest() const override { return m_manifest; }
    void prefetch(const QString &name) override { asked << name; }
    bool isCached(const QString &name) const override { return cached.contains(name); }
    std::shared_ptr<const QByteArray> acquire(const QString &, ChunkFetch *) override { return nullptr; }

    QStringList asked;
    QSet<QString> cached;

private:
    ChunkManifest m_manifest;
};

const QStringList kOrder{QStringLiteral("embed_tokens"), QStringLiteral("layer_0"), QStringLiteral("layer_1"),
                         QStringLiteral("layer_2"), QStringLiteral("layer_3"), QStringLiteral("layer_4"), QStringLiteral("norm")};

} // namespace

class TestWeightStream : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void nothingCachedAsksTheNextUnits();
    void cachedUnitsArePassedOver();
    void passesOverToTheHeadOfTheOrder();
    void everythingCachedAsksNothing();
    void depthZeroAsksNothing();
};

void TestWeightStream::nothingCachedAsksTheNextUnits()
{
    RecordingSource source;
    WeightStream stream(source, 2);
    stream.beginStep(kOrder);
    QCOMPARE(source.asked, (QStringList{QStringLiteral("embed_tokens"), QStringLiteral("layer_0")}));
}

void TestWeightStream::cachedUnitsArePassedOver()
{
    RecordingSource source;
    source.cached = {QStringLiteral("embed_tokens"), QStringLiteral("layer_0"), QStringLiteral("layer_1")};
    WeightStream stream(source, 2);
    stream.beginStep(kOrder);
    QCOMPARE(source.asked, (QStringList{QStringLiteral("layer_2"), QStringLiteral("layer_3")}));
}

void TestWeightStream::passesOverToTheHeadOfTheOrder()
{
    RecordingSource source;
    source.cached = {QStringLiteral("layer_1"), QStringLiteral("layer_2"), QStringLiteral("layer_3"),
                     QStringLiteral("layer_4"), QStringLiteral("norm"), QStringLiteral("embed_tokens")};
    WeightStream stream(source, 1);
    stream.beginStep(kOrder);
    QCOMPARE(source.asked, QStringList{QStringLiteral("layer_0")});
    source.asked.clear();
    // From after layer_0 everything is cached up to layer_0 of the next step.
    stream.replan(QStringLiteral("layer_0"), QStringLiteral("layer_"), {QStringLiteral("layer_1"), QStringLiteral("layer_2"),
                                                                        QStringLiteral("layer_3"), QStringLiteral("layer_4")});
    QCOMPARE(source.asked, QStringList{QStringLiteral("layer_0")});
}

void TestWeightStream::everythingCachedAsksNothing()
{
    RecordingSource source;
    for (const QString &unit : kOrder)
        source.cached.insert(unit);
    WeightStream stream(source, 2);
    stream.beginStep(kOrder);
    QVERIFY(source.asked.isEmpty());
}

void TestWeightStream::depthZeroAsksNothing()
{
    RecordingSource source;
    WeightStream stream(source, 0);
    stream.beginStep(kOrder);
    QVERIFY(source.asked.isEmpty());
}

QTEST_GUILESS_MAIN(TestWeightStream)
#include "tst_weightstream.moc"
