// The bytes `run --json` reports (issue 13, "show the bound"): bytes_fetched is what crossed the
// link (stored, compressed bytes; it once counted decoded bytes), bytes_per_token is the decode
// steps' bytes per generated token, fetch_bytes_per_second their rate over the decode time.
#include "inference/inferenceoptions.h"
#include "testsupport.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

using namespace surfing;
using namespace surfing::test;

class TestRunStats : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void bytesAreStoredBytesPerToken_data();
    void bytesAreStoredBytesPerToken();
    void statsLineWritesBinaryUnits();

private:
    QTemporaryDir m_tmp;
    QString m_plain, m_compressed;
};

void TestRunStats::initTestCase()
{
    QByteArray error;
    m_plain = makeChunkedModel(m_tmp.path(), {QStringLiteral("--layers"), QStringLiteral("4"), QStringLiteral("--hidden"), QStringLiteral("128"),
                                              QStringLiteral("--intermediate"), QStringLiteral("344"), QStringLiteral("--heads"), QStringLiteral("4"),
                                              QStringLiteral("--kv-heads"), QStringLiteral("2"), QStringLiteral("--vocab"), QStringLiteral("1024")},
                               &error);
    QVERIFY2(!m_plain.isEmpty(), error.constData());
    m_compressed = m_tmp.filePath(QStringLiteral("compressed"));
    const CliResult r = runCli({QStringLiteral("chunk"), m_tmp.filePath(QStringLiteral("model")), QStringLiteral("-o"), m_compressed,
                                QStringLiteral("--compress")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
}

void TestRunStats::bytesAreStoredBytesPerToken_data()
{
    QTest::addColumn<bool>("compressed");
    QTest::newRow("none") << false;
    QTest::newRow("zstd-bytegroup") << true;
}

void TestRunStats::bytesAreStoredBytesPerToken()
{
    QFETCH(bool, compressed);
    const QString dir = compressed ? m_compressed : m_plain;
    // Two chunks of cache for seven units, no prefetch: every step fetches most units again,
    // and every byte fetched shows on the timeline.
    const CliResult r = runCli({QStringLiteral("run"), QStringLiteral("--local"), dir, QStringLiteral("--ids"), QStringLiteral("1,5,9"),
                                QStringLiteral("--max-tokens"), QStringLiteral("5"), QStringLiteral("--cache-layers"), QStringLiteral("2"),
                                QStringLiteral("--prefetch"), QStringLiteral("0"), QStringLiteral("--json")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonObject doc = QJsonDocument::fromJson(r.out).object();
    const QJsonObject stats = doc.value(QLatin1String("stats")).toObject();
    const QJsonArray timeline = doc.value(QLatin1String("timeline")).toArray();
    QCOMPARE(stats.value(QLatin1String("new_tokens")).toInt(), 5);

    // What the chunk directory stores for each unit: the bytes a fetch moves.
    const QJsonObject chunks = QJsonDocument::fromJson(readFile(dir + QStringLiteral("/chunk_info.json"))).object()
                                   .value(QLatin1String("chunks")).toObject();
    double timelineBytes = 0, decodeBytes = 0;
    const int firstStep = timeline.first().toObject().value(QLatin1String("step")).toInt();
    for (const QJsonValue &v : timeline) {
        const QJsonObject e = v.toObject();
        const double bytes = e.value(QLatin1String("bytes")).toDouble();
        if (bytes > 0)
            QCOMPARE(bytes, chunks.value(e.value(QLatin1String("unit")).toString()).toObject().value(QLatin1String("stored_bytes")).toDouble());
        timelineBytes += bytes;
        if (e.value(QLatin1String("step")).toInt() > firstStep)
            decodeBytes += bytes;
    }
    QVERIFY(decodeBytes > 0);
    QCOMPARE(stats.value(QLatin1String("bytes_fetched")).toDouble(), timelineBytes);
    QCOMPARE(stats.value(QLatin1String("decode_bytes_fetched")).toDouble(), decodeBytes);
    QCOMPARE(stats.value(QLatin1String("bytes_per_token")).toDouble(), decodeBytes / 4);
    QVERIFY(stats.value(QLatin1String("fetch_bytes_per_second")).toDouble() > 0);
    QVERIFY2(r.err.isEmpty() || !r.err.contains("error"), r.err.constData());
}

void TestRunStats::statsLineWritesBinaryUnits()
{
    // The stats line wrote decimal "MB" where the GUI and the rest of the CLI write MiB.
    InferenceStats stats;
    stats.promptTokens = 2;
    stats.newTokens = 3;
    stats.steps = 3;
    stats.bytesFetched = 3 * 1024 * 1024;
    stats.totalNs = 1'000'000'000;
    stats.timeToFirstTokenNs = 100'000'000;
    const QString line = stats.summary();
    QVERIFY2(line.contains(QStringLiteral("fetched 3.0\u00a0MiB")) || line.contains(QStringLiteral("fetched 3.0 MiB")), qPrintable(line));
    QVERIFY2(!line.contains(QStringLiteral(" MB")), qPrintable(line));
    QVERIFY2(line.contains(QStringLiteral("prefetch 0)")), qPrintable(line));
    stats.prefetchAdaptive = true;
    stats.prefetchDepth = 2;
    QVERIFY2(stats.summary().contains(QStringLiteral("prefetch auto, at 2 now")), qPrintable(stats.summary()));
}

QTEST_GUILESS_MAIN(TestRunStats)
#include "tst_runstats.moc"
