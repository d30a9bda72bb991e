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
    {
        QMutexLocker lock(&m_mutex);
        // The smallest buffer that fits, so a large one stays for a large chunk.
        int best = -1;
        for (int i = 0; i < m_free.size(); ++i) {
            if (m_free[i].capacity() >= size && (best < 0 || m_free[i].capacity() < m_free[best].capacity()))
                best = i;
        }
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

void ChunkBufferPool::give(QByteArray bytes)
{
    if (!bytes.isDetached() || bytes.capacity() < kMinPooledBytes)
        return;
    QMutexLocker lock(&m_mutex);
    if (m_pooledBytes + bytes.capacity() > maxBytesLocked()) {
        qCDebug(lcBufferPool) << "pool full: freeing" << bytes.capacity() << "bytes";
        return;
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
