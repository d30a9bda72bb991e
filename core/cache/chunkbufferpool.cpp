#include "cache/chunkbufferpool.h"

#include "base/largebuffer.h"

#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcBufferPool, "surfing.cache.pool")

namespace surfing {
namespace {

// Below glibc's largest mmap threshold (32 MiB) buffers come from the heap and are recycled by
// malloc itself (protocol/transfermemory.h keeps the heap mapped); the pool is for larger ones.
constexpr qint64 kMinPooledBytes = qint64(8) << 20;
constexpr qint64 kDefaultMaxBytes = qint64(96) << 20;

qint64 maxBytesFromEnvironment()
{
    bool ok = false;
    const qint64 mb = qEnvironmentVariableIntValue("SURFING_BUFFER_POOL_MB", &ok);
    return ok && mb >= 0 ? mb << 20 : kDefaultMaxBytes;
}

} // namespace

ChunkBufferPool &ChunkBufferPool::instance()
{
    static ChunkBufferPool pool(maxBytesFromEnvironment());
    return pool;
}

ChunkBufferPool::ChunkBufferPool(qint64 maxBytes) : m_baseMaxBytes(qMax<qint64>(0, maxBytes))
{
}

QByteArray ChunkBufferPool::take(qint64 size)
{
    if (size >= kMinPooledBytes) {
        QMutexLocker lock(&m_mutex);
        const int best = snuggestFitLocked(size);
        if (best >= 0) {
            QByteArray bytes = m_free.takeAt(best);
            m_pooledBytes -= bytes.capacity();
            ++m_reused;
            lock.unlock();
            bytes.resize(size); // within the capacity: no allocation
            return bytes;
        }
    }
    qCDebug(lcBufferPool) << "new buffer of" << size << "bytes";
    return allocateLargeBuffer(size);
}

// The smallest pooled buffer that holds `size` bytes without wasting more than a quarter of
// them: a 4 KiB norm chunk that took a 45 MB layer's buffer kept its pages resident while the
// next layer faulted in a new one, and a layer in the embedding's buffer holds 3x its size.
int ChunkBufferPool::snuggestFitLocked(qint64 size) const
{
    int best = -1;
    for (int i = 0; i < m_free.size(); ++i) {
        const qint64 capacity = m_free[i].capacity();
        if (capacity >= size && capacity - size <= size / 4 && (best < 0 || capacity < m_free[best].capacity()))
            best = i;
    }
    return best;
}

void ChunkBufferPool::give(QByteArray bytes)
{
    if (!bytes.isDetached() || bytes.capacity() < kMinPooledBytes)
        return;
    QMutexLocker lock(&m_mutex);
    if (bytes.capacity() > maxBytesLocked())
        return;
    // The oldest buffers go first: the newest is the size the chunks arriving now have (the
    // embedding's buffer, given back after warm-up, would otherwise keep every layer's out).
    while (m_pooledBytes + bytes.capacity() > maxBytesLocked()) {
        qCDebug(lcBufferPool) << "pool full: freeing" << m_free.constFirst().capacity() << "bytes";
        m_pooledBytes -= m_free.constFirst().capacity();
        m_free.removeFirst();
    }
    m_pooledBytes += bytes.capacity();
    m_free.append(std::move(bytes));
}

void ChunkBufferPool::recycle(std::shared_ptr<const QByteArray> &bytes)
{
    if (!bytes)
        return;
    if (bytes.use_count() != 1) {
        bytes.reset();
        return;
    }
    QByteArray held = *bytes; // shares the data; the last other owner goes next line
    bytes.reset();
    give(std::move(held));
}

void ChunkBufferPool::grant(qint64 bytes)
{
    QMutexLocker lock(&m_mutex);
    m_grantedBytes = qMax<qint64>(0, m_grantedBytes + bytes);
    trimLocked();
}

qint64 ChunkBufferPool::maxBytes() const
{
    QMutexLocker lock(&m_mutex);
    return maxBytesLocked();
}

void ChunkBufferPool::trimLocked()
{
    while (m_pooledBytes > maxBytesLocked() && !m_free.isEmpty()) {
        m_pooledBytes -= m_free.constLast().capacity();
        m_free.removeLast();
    }
}

qint64 ChunkBufferPool::pooledBytes() const
{
    QMutexLocker lock(&m_mutex);
    return m_pooledBytes;
}

qint64 ChunkBufferPool::reused() const
{
    QMutexLocker lock(&m_mutex);
    return m_reused;
}

} // namespace surfing
