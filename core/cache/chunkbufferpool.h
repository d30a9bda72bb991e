// Buffers of evicted chunks, kept for the next chunk to arrive. A client whose cache is smaller
// than the model receives most of the model again at every token; each chunk is tens of MB, so
// glibc maps it fresh from the kernel (above its mmap threshold) and unmaps it at eviction, and
// the next receive page-faults and zero-fills all of it again (perf: ~10% of the client's CPU on
// the 1 GB model at a 256 MiB budget). The pool hands a freed buffer to the next receive
// instead. It holds at most maxBytes() (one or two chunks), on top of the cache budget, and only
// buffers nobody else references. Thread-safe; one per process.
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
    // fits, else a new one. Throws std::bad_alloc like QByteArray.
    QByteArray take(qint64 size);
    // Keeps `bytes` for a later take() when nobody else holds them, they are large enough to be
    // worth it and the pool has room; else lets them go.
    void give(QByteArray bytes);
    // give() for bytes behind a shared_ptr, when this is its last owner; resets `bytes`.
    void recycle(std::shared_ptr<const QByteArray> &bytes);

    qint64 maxBytes() const { return m_maxBytes; }
    qint64 pooledBytes() const;
    qint64 reused() const; // take() calls served from the pool

private:
    mutable QMutex m_mutex;
    const qint64 m_maxBytes;
    QVector<QByteArray> m_free;
    qint64 m_pooledBytes = 0;
    qint64 m_reused = 0;
};

} // namespace surfing
