// Buffers of evicted chunks, kept for the next chunk to arrive. A client whose cache is smaller
// than the model receives most of the model again at every token; each chunk is tens of MB, so
// glibc maps it fresh from the kernel (above its mmap threshold) and unmaps it at eviction, and
// the next receive page-faults and zero-fills all of it again (perf: ~10% of the client's CPU on
// the 1 GB model at a 256 MiB budget). The pool hands a freed buffer to the next receive
// instead. It holds only buffers nobody else references, at most maxBytes(): the larger of a
// base (one or two chunks) and what the live caches (their budgets) and chunk sources (the
// layers they had on their way at once) granted it; when full, the oldest buffers go first. A
// buffer enters the pool only when it leaves a cache or a finished transfer and leaves it only
// for the next one of about its size, so chunk buffers never take more memory than was live at
// once; the process's peak can still rise
// by a chunk when that moment and the peak of activations fall apart (batch 64: 614-657 MiB
// against 614-643). A limit of two chunks did free and fault in a chunk at every token with
// prefetch on (three buffers come free at once). Thread-safe; one per process.
#pragma once

#include <QByteArray>
#include <QMutex>
#include <QVector>
#include <memory>

namespace surfing {

class ChunkBufferPool
{
public:
    static ChunkBufferPool &instance();
    explicit ChunkBufferPool(qint64 maxBytes);

    // A buffer of exactly `size` bytes (contents unspecified): a pooled one whose capacity
    // fits with at most a quarter to spare, else a new one. Throws std::bad_alloc like QByteArray.
    QByteArray take(qint64 size);
    // Keeps `bytes` for a later take() when nobody else holds them and they are large enough to
    // be worth it, letting the oldest pooled buffers go to make room; else lets them go.
    void give(QByteArray bytes);
    // give() for bytes behind a shared_ptr, when this is its last owner; resets `bytes`.
    void recycle(std::shared_ptr<const QByteArray> &bytes);

    // A cache of `bytes` budget is alive (negative: it shrank or went): the pool may hold that much
    // more. Lowering the limit lets pooled buffers above it go.
    void grant(qint64 bytes);

    qint64 maxBytes() const;
    qint64 pooledBytes() const;
    qint64 reused() const; // take() calls served from the pool

private:
    mutable QMutex m_mutex;
    const qint64 m_baseMaxBytes;
    qint64 m_grantedBytes = 0;
    QVector<QByteArray> m_free;
    qint64 m_pooledBytes = 0;
    qint64 m_reused = 0;

    qint64 maxBytesLocked() const { return qMax(m_baseMaxBytes, m_grantedBytes); }
    int snuggestFitLocked(qint64 size) const; // index in m_free, -1: none fits
    void trimLocked(); // lets pooled buffers above maxBytesLocked() go
};

} // namespace surfing
