// A chunk that compute may read while it is still arriving. A re-fetched chunk is checked block
// by block as its pieces land (ReceiptVerifier::BlockCheck), and every checked block is published
// here; compute waits for the bytes it needs (a tensor, or the next rows of one) and reads them
// while the rest is on its way, while they are still in the CPU's cache. Fetching, then reading
// the whole chunk back from memory, left the products ~16 % of a step on the 1 GB model
// (docs/benchmarks-bounded.md, Round 6).
//
// A receipt that breaks off (a dropped connection, a move to another server, a block that
// differs) leaves what it verified readable; the next receipt writes into a buffer of its own.
// waitFor() only returns bytes verified in one buffer, so compute never sees a byte that was not.
//
// One per fetch of an uncompressed chunk, made by FetchingChunkSource. Receipts begin and advance
// on the network thread; compute waits on its own thread. Thread-safe.
#pragma once

#include <QByteArray>
#include <QString>
#include <condition_variable>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <vector>

namespace surfing {

class ChunkArrival
{
public:
    ChunkArrival(QString name, qint64 size);

    const QString &name() const { return m_name; }
    qint64 size() const { return m_size; }

    // The network thread. A receipt writes the chunk's bytes in order into `buffer` (size()
    // bytes, whose heap block it keeps alive); `requestStartNs`: when the request went out.
    // Returns the receipt's number for advance().
    int beginReceipt(QByteArray buffer, qint64 requestStartNs);
    // The first `verifiedBytes` bytes of that receipt equal the chunk's verified bytes.
    void advance(int receipt, qint64 verifiedBytes);
    // The fetch ended (the chunk was delivered, or failed for good): waits that are not served
    // by a verified range yet throw `message`, or end with the delivered bytes.
    void complete(std::shared_ptr<const QByteArray> bytes);
    void fail(const QString &message);
    // Waits now blocked throw "cancelled" (Ctrl+C while a chunk is on its way).
    void cancelWaits();

    // Compute. Blocks until the first `end` bytes are verified in one buffer; returns where that
    // buffer starts, and in `available` how many of its bytes are verified. Throws surfing::Error
    // when the fetch failed or the wait was cancelled.
    const char *waitFor(qint64 end, qint64 *available = nullptr);
    // Hands the bytes [begin, end) to `read` as they are verified, in order, without copying:
    // read(base, upTo) says that everything below upTo is verified at `base` (where the chunk
    // starts in one of its buffers), and that the bytes since the last call's upTo (or begin) are
    // new. Bytes verified already are read at once on this thread; the rest by the network thread
    // as it verifies them, while they are still in its cache, so that a product over a chunk still
    // arriving costs no wake-up per block and no second trip to memory. Calls never overlap.
    // Blocks until all of [begin, end) was read; throws like waitFor() (`read` must not throw).
    void readAsVerified(qint64 begin, qint64 end, const std::function<void(const char *base, qint64 upTo)> &read);
    // Blocks until a receipt began (true) or the fetch ended first (false: use the delivered bytes).
    // Throws surfing::Error when cancelled.
    bool waitForReceipt();
    qint64 requestStartNs() const;
    qint64 verifiedAtNs() const; // timelineClockNs() when the last byte was verified; 0 before
    qint64 waitedNs() const;     // time compute spent blocked in waitFor()

private:
    struct Receipt {
        QByteArray buffer;
        qint64 verified = 0;
    };
    void throwIfOverLocked(qint64 end) const;
    // Throws "cancelled" when the generation moved on since `generation`, else the fetch's error
    // once it ended.
    void throwEndedLocked(quint64 generation) const;
    // The buffer with the most bytes verified past `from` (nullptr when none has any).
    const char *verifiedPastLocked(qint64 from, qint64 *verified) const;
    // The readAsVerified() in progress: at most one (a unit is computed by one thread).
    struct Reading {
        qint64 next = 0;
        qint64 end = 0;
        const std::function<void(const char *, qint64)> *read = nullptr;
        bool busy = false; // a thread is inside read()
    };

    const QString m_name;
    const qint64 m_size;
    mutable std::mutex m_mutex;
    std::condition_variable m_changed;
    // Declared first, so destroyed last: the receipts' hold on the buffer is gone when letting go
    // of the delivered bytes gives them back to the cache (and its buffer pool).
    std::shared_ptr<const QByteArray> m_delivered;
    std::vector<Receipt> m_receipts;
    QString m_error;
    bool m_ended = false;
    quint64 m_cancelGeneration = 0;
    qint64 m_requestStartNs = 0;
    qint64 m_verifiedAtNs = 0;
    qint64 m_waitedNs = 0;
    Reading *m_reading = nullptr;
    // The fewest verified bytes a blocked waitFor() needs; advance() wakes waiters only then (or
    // when a readAsVerified() it served is done). Every other change wakes everyone.
    qint64 m_wakeAt = std::numeric_limits<qint64>::max();
};

// How a WeightClient finds the arrival of a chunk whose receipt it can check block by block
// (WeightClientOptions::arrivals): null when nobody reads that chunk while it arrives.
using ArrivalLookup = std::function<std::shared_ptr<ChunkArrival>(const QString &chunk)>;

} // namespace surfing
