// The figures the desktop app shows about this machine: the memory estimate before a run
// (core/client/memoryestimate.h), CPU use (core/metrics/cpuusage.h), and the one byte formatter
// every part of Surfing writes sizes with (core/base/bytesize.h).
#include "base/bytesize.h"
#include "client/memoryestimate.h"
#include "client/memorylimit.h"
#include "metrics/cpuusage.h"

#include <QtTest>

using namespace surfing;

namespace {
constexpr qint64 kMiB = 1024 * 1024;

ManifestChunk chunk(const QString &kind, int index, qint64 raw)
{
    ManifestChunk c;
    c.kind = kind;
    c.index = index;
    c.name = index >= 0 ? QStringLiteral("%1_%2").arg(kind).arg(index) : kind;
    c.rawBytes = raw;
    c.storedBytes = raw / 2;
    return c;
}

// A LLaMA-shaped manifest: 100 MiB of embeddings, eight layers of 96 MiB (one of 97), a norm.
ChunkManifest llamaManifest()
{
    ChunkManifest m;
    m.chunks.append(chunk(QStringLiteral("embed_tokens"), -1, 100 * kMiB));
    for (int i = 0; i < 8; ++i)
        m.chunks.append(chunk(QStringLiteral("layer"), i, (i == 3 ? 97 : 96) * kMiB));
    m.chunks.append(chunk(QStringLiteral("norm"), -1, 1 * kMiB));
    return m;
}
} // namespace

class TestMemoryEstimate : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void unlimitedCacheHoldsEveryLayer()
    {
        const MemoryEstimate e = estimateRunMemory(llamaManifest(), 0, 0, 2, -1);
        QCOMPARE(e.nonLayerBytes, 101 * kMiB);
        QCOMPARE(e.cacheBytes, 769 * kMiB);
        QCOMPARE(e.prefetchBytes, 2 * 97 * kMiB);
        QCOMPARE(e.runtimeBytes, kRuntimeReserveBytes);
        QCOMPARE(e.peakBytes(), (101 + 769 + 194 + 200) * kMiB);
        QVERIFY(!e.isKnownToFit());
        QVERIFY(!e.isKnownNotToFit()); // nothing known about the machine
    }

    // The bound of docs/benchmarks-inference.md: non-layer + budget + depth x largest layer + 200 MiB.
    void byteBudgetAndPrefetchGiveTheDocumentedBound()
    {
        const MemoryEstimate e = estimateRunMemory(llamaManifest(), 256 * kMiB, 0, 2, 4096 * kMiB);
        QCOMPARE(e.cacheBytes, 256 * kMiB);
        QCOMPARE(e.peakBytes(), (101 + 256 + 194 + 200) * kMiB);
        QVERIFY(e.isKnownToFit());
    }

    void chunkBudgetCountsLargestLayers()
    {
        const MemoryEstimate e = estimateRunMemory(llamaManifest(), 0, 3, 0, -1);
        QCOMPARE(e.cacheBytes, 3 * 97 * kMiB);
        QCOMPARE(e.prefetchBytes, 0);
        // Both budgets: the smaller wins; a depth beyond the layers counts every layer once.
        const MemoryEstimate both = estimateRunMemory(llamaManifest(), 100 * kMiB, 3, 64, -1);
        QCOMPARE(both.cacheBytes, 100 * kMiB);
        QCOMPARE(both.prefetchBytes, 8 * 97 * kMiB);
    }

    void aRunThatDoesNotFitIsFlagged()
    {
        const MemoryEstimate e = estimateRunMemory(llamaManifest(), 0, 0, 2, 1024 * kMiB);
        QVERIFY(e.isKnownNotToFit());
        QVERIFY(!e.isKnownToFit());
        QVERIFY2(e.breakdown().contains(QStringLiteral("peak \u2248 1.23 GiB")), qPrintable(e.breakdown()));
    }

    // A compressed chunk is decoded from its received bytes into a second, decoded buffer: while
    // the prefetch window decodes, both live. The bound counted only the decoded one, so the
    // bf16 --compress rows of docs/benchmarks-bounded.md ran 5 MiB over it.
    void compressedChunksCountTheirBytesWhileDecoding()
    {
        ChunkManifest m = llamaManifest();
        for (ManifestChunk &c : m.chunks)
            c.codec = ChunkCodec::ZstdByteGroup; // stored = raw / 2
        const MemoryEstimate e = estimateRunMemory(m, 256 * kMiB, 0, 2, -1);
        QCOMPARE(e.peakBytes(), (101 + 256 + 194 + 200 + 97) * kMiB); // 2 x 48.5 MiB decoding
        QCOMPARE(e.decodeBytes, 97 * kMiB);
        // Without prefetch one chunk is still decoded at a time.
        QCOMPARE(estimateRunMemory(m, 256 * kMiB, 0, 0, -1).decodeBytes, 97 * kMiB / 2);
        // Uncompressed chunks are used as they arrive: nothing more.
        QCOMPARE(estimateRunMemory(llamaManifest(), 256 * kMiB, 0, 2, -1).decodeBytes, 0);
    }

    // The compressed cache tier holds compressed bytes on top of the decoded budget; never more
    // than the compressed chunks there are.
    void compressedTierCountsItsBudget()
    {
        ChunkManifest m = llamaManifest();
        for (ManifestChunk &c : m.chunks)
            c.codec = ChunkCodec::ZstdByteGroup;
        const MemoryEstimate e = estimateRunMemory(m, 256 * kMiB, 0, 2, -1, 128 * kMiB);
        QCOMPARE(e.compressedCacheBytes, 128 * kMiB);
        QCOMPARE(e.peakBytes(), (101 + 256 + 194 + 200 + 97 + 128) * kMiB);
        QVERIFY2(e.breakdown().contains(QStringLiteral("+ compressed cache 128.0 MiB + decode 97.0 MiB")), qPrintable(e.breakdown()));
        const qint64 allStored = (101 + 769) * kMiB / 2;
        QCOMPARE(estimateRunMemory(m, 256 * kMiB, 0, 2, -1, 4096 * kMiB).compressedCacheBytes, allStored);
        QCOMPARE(estimateRunMemory(llamaManifest(), 256 * kMiB, 0, 2, -1, 128 * kMiB).compressedCacheBytes, 0);
    }

    void memAvailableIsParsed_data()
    {
        QTest::addColumn<QByteArray>("meminfo");
        QTest::addColumn<qint64>("bytes");
        QTest::newRow("real") << QByteArray("MemTotal:       16318412 kB\nMemFree:  1 kB\nMemAvailable:   11223344 kB\n") << qint64(11223344) * 1024;
        QTest::newRow("missing") << QByteArray("MemTotal: 5 kB\n") << qint64(-1);
        QTest::newRow("garbage") << QByteArray("MemAvailable: lots\n") << qint64(-1);
        QTest::newRow("negative") << QByteArray("MemAvailable: -5 kB\n") << qint64(-1);
        QTest::newRow("no unit") << QByteArray("MemAvailable: 5\n") << qint64(-1);
        QTest::newRow("absurd") << QByteArray("MemAvailable: 99999999999999999999 kB\n") << qint64(-1);
    }
    void memAvailableIsParsed()
    {
        QFETCH(QByteArray, meminfo);
        QFETCH(qint64, bytes);
        QCOMPARE(parseMemAvailable(meminfo), bytes);
    }

    void availableMemoryOfThisMachineIsPlausible()
    {
        const qint64 available = availableMemoryBytes();
        QVERIFY(available > 0); // Linux has /proc/meminfo
        QVERIFY(available <= systemMemoryBytes());
    }

    void processCpuTicksAreParsed()
    {
        // The command name may hold spaces and parentheses.
        const QByteArray stat = "4242 (surf ing) (x)) S 1 4242 4242 0 -1 4194304 100 0 0 0 250 37 0 0 20 0 9 0 5 6 7";
        QCOMPARE(parseProcessCpuTicks(stat), qint64(287));
        QCOMPARE(parseProcessCpuTicks("4242 surfing S 1"), qint64(-1));
        QCOMPARE(parseProcessCpuTicks("4242 (surfing) S 1 2 3"), qint64(-1));
        QCOMPARE(parseProcessCpuTicks("1 (a) S 1 1 1 0 -1 0 0 0 0 0 x 37 0"), qint64(-1));
    }

    void machineCpuTicksAreParsed()
    {
        qint64 busy = 0, total = 0;
        QVERIFY(parseMachineCpuTicks("cpu  100 5 50 800 20 1 2 3 0 0\ncpu0 1 2 3 4\n", &busy, &total));
        QCOMPARE(total, qint64(981));
        QCOMPARE(busy, qint64(161));
        QVERIFY(!parseMachineCpuTicks("cpu0 1 2 3 4\n", &busy, &total));
        QVERIFY(!parseMachineCpuTicks("cpu  1 2 x 4\n", &busy, &total));
    }

    // Real /proc: a busy loop of this thread shows as CPU use of the process.
    void cpuUseOfThisProcessIsMeasured()
    {
        CpuUsage usage;
        const CpuUsage::Sample first = usage.sample();
        QCOMPARE(first.processPercent, -1.0);
        QElapsedTimer spin;
        spin.start();
        volatile double x = 0;
        while (spin.elapsed() < 300)
            x = x + 1;
        const CpuUsage::Sample second = usage.sample();
        QVERIFY2(second.processPercent > 0, qPrintable(QString::number(second.processPercent)));
        QVERIFY(second.machinePercent >= 0 && second.machinePercent <= 100.0001);
    }

    void byteSizesUseBinaryUnitsEverywhere_data()
    {
        QTest::addColumn<qint64>("bytes");
        QTest::addColumn<QString>("text");
        QTest::newRow("bytes") << qint64(512) << QStringLiteral("512 B");
        QTest::newRow("KiB") << qint64(1536) << QStringLiteral("1.5 KiB");
        QTest::newRow("MiB") << qint64(12) * kMiB << QStringLiteral("12.0 MiB");
        QTest::newRow("GiB") << qint64(2160) * kMiB << QStringLiteral("2.11 GiB");
        QTest::newRow("TiB") << qint64(3) * 1024 * 1024 * kMiB << QStringLiteral("3.00 TiB");
        QTest::newRow("negative") << qint64(-2048) << QStringLiteral("-2.0 KiB");
    }
    void byteSizesUseBinaryUnitsEverywhere()
    {
        QFETCH(qint64, bytes);
        QFETCH(QString, text);
        QCOMPARE(formatByteSize(bytes), text);
        QCOMPARE(memorySize(bytes), text); // the client's error messages say the same
    }
};

QTEST_GUILESS_MAIN(TestMemoryEstimate)
#include "tst_memoryestimate.moc"
