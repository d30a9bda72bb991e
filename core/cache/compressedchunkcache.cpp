#include "cache/compressedchunkcache.h"

#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcCompressedCache, "surfing.cache.compressed")

namespace surfing {

CompressedChunkCache::CompressedChunkCache(CachePolicyKind policy) : m_policy(makeCachePolicy(policy))
{
}

CompressedChunkCache::~CompressedChunkCache() = default;

void CompressedChunkCache::setBudget(qint64 maxBytes)
{
    QMutexLocker lock(&m_mutex);
    m_maxBytes = qMax<qint64>(0, maxBytes);
    evictUntilFits(0);
}

qint64 CompressedChunkCache::maxBytes() const
{
    QMutexLocker lock(&m_mutex);
    return m_maxBytes;
}

bool CompressedChunkCache::isEnabled() const
{
    return maxBytes() > 0;
}

void CompressedChunkCache::insert(const QString &name, const QByteArray &stored)
{
    QMutexLocker lock(&m_mutex);
    if (m_maxBytes <= 0 || stored.isEmpty() || stored.size() > m_maxBytes || m_entries.contains(name))
        return;
    evictUntilFits(stored.size());
    // A pooled receive buffer may be a decoded chunk's (larger); hold only what is counted.
    const QByteArray kept = stored.capacity() > stored.size() + stored.size() / 16
                                ? QByteArray(stored.constData(), stored.size())
                                : stored;
    m_entries.insert(name, kept);
    m_policy->inserted(name);
    ++m_stats.insertions;
    m_stats.residentBytes += kept.size();
    m_stats.residentChunks = int(m_entries.size());
}

QByteArray CompressedChunkCache::lookup(const QString &name)
{
    QMutexLocker lock(&m_mutex);
    if (m_maxBytes <= 0)
        return {};
    const auto it = m_entries.constFind(name);
    if (it == m_entries.cend()) {
        ++m_stats.misses;
        return {};
    }
    ++m_stats.hits;
    m_policy->accessed(name, true);
    return *it;
}

bool CompressedChunkCache::contains(const QString &name) const
{
    QMutexLocker lock(&m_mutex);
    return m_entries.contains(name);
}

void CompressedChunkCache::remove(const QString &name)
{
    QMutexLocker lock(&m_mutex);
    if (m_entries.contains(name))
        drop(name);
}

void CompressedChunkCache::refuse(const QString &name)
{
    QMutexLocker lock(&m_mutex);
    ++m_stats.refused;
    if (m_entries.contains(name))
        drop(name);
}

void CompressedChunkCache::clear()
{
    QMutexLocker lock(&m_mutex);
    const QStringList names = m_entries.keys();
    for (const QString &name : names)
        drop(name);
}

CompressedCacheStats CompressedChunkCache::stats() const
{
    QMutexLocker lock(&m_mutex);
    return m_stats;
}

void CompressedChunkCache::resetStats()
{
    QMutexLocker lock(&m_mutex);
    const CompressedCacheStats held = m_stats;
    m_stats = {};
    m_stats.residentBytes = held.residentBytes;
    m_stats.residentChunks = held.residentChunks;
}

void CompressedChunkCache::evictUntilFits(qint64 extraBytes)
{
    while (!m_entries.isEmpty() && m_stats.residentBytes + extraBytes > m_maxBytes) {
        // Bytes handed out by lookup() are shared copies: evicting frees them once decoded.
        const QString victim = m_policy->victim([](const QString &) { return true; });
        if (victim.isEmpty())
            return;
        drop(victim);
        ++m_stats.evictions;
        qCDebug(lcCompressedCache) << "evicted" << victim;
    }
}

void CompressedChunkCache::drop(const QString &name)
{
    m_stats.residentBytes -= m_entries.take(name).size();
    m_stats.residentChunks = int(m_entries.size());
    m_policy->removed(name);
}

} // namespace surfing
