// ChunkArrival: compute reads a chunk's bytes while it is still arriving, and never a byte that
// was not verified. Unit tests of the hand-over between the network thread (receipts, advance)
// and compute (waitFor, readAsVerified), then a real client against a server that stalls or
// changes bytes halfway through a re-fetch.
#include "base/error.h"
#include "client/chunkarrival.h"
#include "client/receiptverifier.h"
#include "client/remotechunksource.h"
#include "hostileweightserver.h"
#include "testsupport.h"

#include <QTemporaryDir>
#include <QThread>
#include <QtTest>

#include <atomic>
#include <future>
#include <thread>

using namespace surfing;
using namespace surfing::test;

namespace {

constexpr int kWaitMs = 60000;

// Whether `future` is still blocked after a moment.
template <typename T> bool stillWaiting(std::future<T> &future)
{
    return future.wait_for(std::chrono::milliseconds(100)) == std::future_status::timeout;
}

// How often the calling thread gave up its core to wait (Linux; -1 elsewhere).
qint64 voluntarySwitchesOfThisThread()
{
    return procStatusValue(QStringLiteral("/proc/thread-self/status"), "voluntary_ctxt_switches");
}

} // namespace

class TestChunkArrival : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void waitForBlocksUntilTheBytesAreVerified();
    void aBrokenReceiptStaysReadableAndTheNextTakesOver();
    void failureAndCancellationEndTheWait();
    void readAsVerifiedReadsEachByteOnceInOrder();
    void readAsVerifiedStopsAtTheFailure();
    void waitersWakeOnlyWhenTheirBytesAreThere();
    void initTestCase();
    void reFetchIsReadWhileItArrives();
    void changedBytesAreNeverHandedToCompute();

private:
    // A RemoteChunkSource on the hostile server, used from a thread of its own while this one
    // serves: fetches `name` once whole (the SHA-256 receipt), evicts it, and acquires it again.
    void acquireAgain(HostileWeightServer &server, const QString &name,
                      const std::function<void(const ChunkSource::Acquired &)> &use);

    QTemporaryDir m_tmp;
    QString m_chunks;
    ChunkManifest m_manifest;
};

void TestChunkArrival::waitForBlocksUntilTheBytesAreVerified()
{
    ChunkArrival arrival(QStringLiteral("c"), 1000);
    const QByteArray buffer = randomBytes(1000, 1);
    auto receipt = std::async(std::launch::async, [&] { return arrival.waitForReceipt(); });
    QVERIFY(stillWaiting(receipt));
    const int r = arrival.beginReceipt(buffer, 5);
    QVERIFY(receipt.get());
    QCOMPARE(arrival.requestStartNs(), 5);
    auto waiting = std::async(std::launch::async, [&] {
        qint64 available = 0;
        const char *base = arrival.waitFor(600, &available);
        return std::make_pair(base, available);
    });
    arrival.advance(r, 500);
    QVERIFY(stillWaiting(waiting));
    arrival.advance(r, 700);
    const auto [base, available] = waiting.get();
    QCOMPARE(base, buffer.constData());
    QCOMPARE(available, 700);
    QCOMPARE(arrival.verifiedAtNs(), 0);
    arrival.advance(r, 1000);
    QVERIFY(arrival.verifiedAtNs() > 0);
    QVERIFY(errorOf([&] { arrival.waitFor(1001); }).contains(QLatin1String("1001")));
}

void TestChunkArrival::aBrokenReceiptStaysReadableAndTheNextTakesOver()
{
    ChunkArrival arrival(QStringLiteral("c"), 1000);
    const QByteArray first = randomBytes(1000, 2);
    const QByteArray again(first.constData(), first.size()); // the same bytes in a buffer of its own
    const int r0 = arrival.beginReceipt(first, 1);
    arrival.advance(r0, 300); // then the connection dropped
    const int r1 = arrival.beginReceipt(again, 2);
    arrival.advance(r1, 100);
    QCOMPARE(arrival.waitFor(200), first.constData());
    auto waiting = std::async(std::launch::async, [&] { return arrival.waitFor(350); });
    QVERIFY(stillWaiting(waiting));
    arrival.advance(r1, 400);
    QCOMPARE(waiting.get(), again.constData());
    QCOMPARE(arrival.requestStartNs(), 1); // the first request's
}

void TestChunkArrival::failureAndCancellationEndTheWait()
{
    ChunkArrival arrival(QStringLiteral("layer_3"), 1000);
    const QByteArray buffer = randomBytes(1000, 3);
    arrival.advance(arrival.beginReceipt(buffer, 1), 400);
    auto waiting = std::async(std::launch::async, [&] { return errorOf([&] { arrival.waitFor(800); }); });
    QVERIFY(stillWaiting(waiting));
    arrival.cancelWaits();
    QVERIFY2(waiting.get().contains(QLatin1String("cancelled")), "a cancelled wait names it");
    waiting = std::async(std::launch::async, [&] { return errorOf([&] { arrival.waitFor(800); }); });
    QVERIFY(stillWaiting(waiting));
    arrival.fail(QStringLiteral("chunk 'layer_3': SHA-256 mismatch"));
    QCOMPARE(waiting.get(), QStringLiteral("chunk 'layer_3': SHA-256 mismatch"));
    QCOMPARE(arrival.waitFor(400), buffer.constData()); // what was verified stays readable
    QVERIFY(!arrival.waitForReceipt());
}

// Bytes verified before the read are read on the reading thread; bytes verified later by the
// thread that verified them (the network thread), each once, in order, never past what was
// verified when it was read.
void TestChunkArrival::readAsVerifiedReadsEachByteOnceInOrder()
{
    ChunkArrival arrival(QStringLiteral("c"), 6000);
    const QByteArray buffer = randomBytes(6000, 4);
    const int r = arrival.beginReceipt(buffer, 1);
    std::atomic<qint64> published{1000};
    arrival.advance(r, published);
    struct Call {
        std::thread::id thread;
        qint64 upTo;
    };
    QList<Call> calls;
    QByteArray seen;
    bool overreached = false;
    auto reading = std::async(std::launch::async, [&] {
        arrival.readAsVerified(100, 5000, [&](const char *base, qint64 upTo) {
            overreached = overreached || upTo > published || base != buffer.constData();
            const qint64 from = 100 + seen.size();
            seen.append(base + from, upTo - from);
            calls.append({std::this_thread::get_id(), upTo});
        });
        return std::this_thread::get_id();
    });
    for (const qint64 verified : {2000, 3500, 5000, 6000}) {
        QTest::qWait(30);
        published = verified;
        arrival.advance(r, verified);
    }
    const std::thread::id reader = reading.get();
    QVERIFY(!overreached);
    QCOMPARE(seen, buffer.mid(100, 4900));
    QVERIFY(calls.size() >= 2);
    QCOMPARE(calls.first().upTo, 1000);
    QVERIFY(calls.first().thread == reader);
    QVERIFY2(calls.last().thread == std::this_thread::get_id(),
             "bytes verified later are read where they are verified");
    QCOMPARE(calls.last().upTo, 5000);
}

void TestChunkArrival::readAsVerifiedStopsAtTheFailure()
{
    ChunkArrival arrival(QStringLiteral("layer_1"), 3000);
    const QByteArray buffer = randomBytes(3000, 5);
    arrival.advance(arrival.beginReceipt(buffer, 1), 1000);
    qint64 readTo = 0;
    auto reading = std::async(std::launch::async, [&] {
        return errorOf([&] { arrival.readAsVerified(0, 3000, [&](const char *, qint64 upTo) { readTo = upTo; }); });
    });
    QVERIFY(stillWaiting(reading));
    arrival.fail(QStringLiteral("chunk 'layer_1': the server closed the connection"));
    QCOMPARE(reading.get(), QStringLiteral("chunk 'layer_1': the server closed the connection"));
    QCOMPARE(readTo, 1000);
}

// A re-fetch advances every 256 KiB block; a wait for a tensor, or for the end of a product the
// network thread runs, wakes once, not once a block (a context switch each way per block cost the
// two cores more than the products).
void TestChunkArrival::waitersWakeOnlyWhenTheirBytesAreThere()
{
    if (voluntarySwitchesOfThisThread() < 0)
        QSKIP("needs /proc/thread-self/status");
    constexpr int kBlocks = 48;
    constexpr qint64 kBlock = 1024;
    ChunkArrival arrival(QStringLiteral("c"), kBlocks * kBlock);
    const QByteArray buffer = randomBytes(kBlocks * kBlock, 6);
    const int r = arrival.beginReceipt(buffer, 1);
    const auto switchesWhile = [](const std::function<void()> &wait) {
        const qint64 before = voluntarySwitchesOfThisThread();
        wait();
        return voluntarySwitchesOfThisThread() - before;
    };
    auto reader = std::async(std::launch::async, [&] {
        return switchesWhile([&] { arrival.readAsVerified(0, kBlocks * kBlock, [](const char *, qint64) {}); });
    });
    auto waiter =
        std::async(std::launch::async, [&] { return switchesWhile([&] { arrival.waitFor(kBlocks * kBlock); }); });
    QTest::qWait(50);
    for (int block = 1; block <= kBlocks; ++block) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2)); // time for a woken thread to sleep again
        arrival.advance(r, block * kBlock);
    }
    const qint64 readerSwitches = reader.get(), waiterSwitches = waiter.get();
    QVERIFY2(readerSwitches < kBlocks / 6,
             qPrintable(QStringLiteral("the reader slept %1 times for %2 blocks").arg(readerSwitches).arg(kBlocks)));
    QVERIFY2(waiterSwitches < kBlocks / 6,
             qPrintable(QStringLiteral("the waiter slept %1 times for %2 blocks").arg(waiterSwitches).arg(kBlocks)));
}

void TestChunkArrival::initTestCase()
{
    QByteArray error;
    // A layer of several 256 KiB blocks: q/o 256 KiB, k/v 128 KiB, gate/up/down 1 MiB each.
    m_chunks = makeChunkedModel(m_tmp.filePath(QStringLiteral("m")),
                                {"--layers", "2", "--hidden", "256", "--intermediate", "1024", "--heads", "8",
                                 "--kv-heads", "4", "--vocab", "512"},
                                &error);
    QVERIFY2(!m_chunks.isEmpty(), error.constData());
    m_manifest = ChunkManifest::load(m_chunks);
}

void TestChunkArrival::acquireAgain(HostileWeightServer &server, const QString &name,
                                    const std::function<void(const ChunkSource::Acquired &)> &use)
{
    std::atomic<bool> done{false};
    QString failure;
    std::thread client([&] {
        try {
            RemoteChunkSourceOptions o;
            o.client.url = server.url();
            o.client.requestTimeoutMs = 3000;
            o.client.maxReconnectAttempts = 0;
            o.cacheChunks = 1;
            RemoteChunkSource source(o);
            source.acquire(name);                   // the first receipt: SHA-256, tags remembered
            source.acquire(QStringLiteral("norm")); // evicts it (one chunk fits)
            use(source.acquireArriving(name));
        } catch (const Error &e) {
            failure = e.message();
        }
        done = true;
    });
    const bool served = server.serveUntil([&] { return done.load(); }, kWaitMs);
    client.join();
    QVERIFY(served);
    QVERIFY2(failure.isEmpty(), qPrintable(failure));
}

// The re-fetch stalls halfway: compute already has the blocks that were verified, and waiting
// for the rest ends with the request's failure, naming the chunk.
void TestChunkArrival::reFetchIsReadWhileItArrives()
{
    ReceiptVerifier::instance().forget();
    HostileWeightServer server(m_chunks);
    const ManifestChunk *layer = m_manifest.find(QStringLiteral("layer_1"));
    QVERIFY(layer && layer->storedBytes > 3 * ReceiptVerifier::kBlockBytes);
    const QByteArray stored = readFile(m_chunks + QLatin1Char('/') + layer->file);
    int sends = 0;
    server.adjustBytes = [&](const QString &name, QByteArray &) {
        if (name == layer->name && ++sends == 2)
            server.stallAfterBytes = 2 * ReceiptVerifier::kBlockBytes; // two whole pieces
    };
    acquireAgain(server, layer->name, [&](const ChunkSource::Acquired &got) {
        QVERIFY(got.arrival && !got.bytes);
        qint64 available = 0;
        const char *base = got.arrival->waitFor(2 * ReceiptVerifier::kBlockBytes, &available);
        QCOMPARE(available, 2 * ReceiptVerifier::kBlockBytes);
        QVERIFY(QByteArrayView(base, available) == QByteArrayView(stored).first(available));
        const QString why = errorOf([&] { got.arrival->waitFor(layer->storedBytes); });
        QVERIFY2(why.contains(layer->name), qPrintable(why));
    });
}

// A server that changes one byte of the re-fetch: the blocks before it are read, the block
// holding it and everything after never are, and the wait ends with the hash mismatch.
void TestChunkArrival::changedBytesAreNeverHandedToCompute()
{
    ReceiptVerifier::instance().forget();
    HostileWeightServer server(m_chunks);
    const ManifestChunk *layer = m_manifest.find(QStringLiteral("layer_0"));
    const QByteArray stored = readFile(m_chunks + QLatin1Char('/') + layer->file);
    const qint64 changedAt = 2 * ReceiptVerifier::kBlockBytes + 77;
    int sends = 0;
    server.adjustBytes = [&](const QString &name, QByteArray &bytes) {
        if (name == layer->name && ++sends == 2)
            bytes[changedAt] = char(bytes[changedAt] ^ 0x01);
    };
    acquireAgain(server, layer->name, [&](const ChunkSource::Acquired &got) {
        QVERIFY(got.arrival);
        qint64 readTo = 0;
        bool sameBytes = true;
        const QString why = errorOf([&] {
            got.arrival->readAsVerified(0, layer->storedBytes, [&](const char *base, qint64 upTo) {
                sameBytes = sameBytes && QByteArrayView(base + readTo, upTo - readTo) ==
                                             QByteArrayView(stored).sliced(readTo, upTo - readTo);
                readTo = upTo;
            });
        });
        QVERIFY2(why.contains(QLatin1String("SHA-256")) && why.contains(layer->name), qPrintable(why));
        QVERIFY(sameBytes);
        QCOMPARE(readTo, 2 * ReceiptVerifier::kBlockBytes);
    });
}

QTEST_GUILESS_MAIN(TestChunkArrival)
#include "tst_chunkarrival.moc"
