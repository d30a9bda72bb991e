#include "cache/clientcache.h"

#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcClientCache, "surfing.cache")

namespace surfing {

ClientCache::ClientCache(CachePolicyKind policy)
    : m_policyKind(policy), m_policy(makeCachePolicy(policy))
{
}

ClientCache::~ClientCache() = default;

void ClientCache::setBudget(qint64 maxBytes, int maxChunks)
{
    QMutexLocker lock(&m_mutex);
    m_maxBytes = qMax<qint64>(0, maxBytes);
    m_maxChunks = qMax(0, maxChunks);
    evictUntilFits(0, 0);
}

qint64 ClientCache::maxBytes() const
{
    QMutexLocker lock(&m_mutex);
    return m_maxBytes;
}

int ClientCache::maxChunks() const
{
    QMutexLocker lock(&m_mutex);
    return m_maxChunks;
}

ClientCache::Bytes ClientCache::lookup(const QString &name)
{
    QMutexLocker lock(&m_mutex);
    const auto it = m_entries.find(name);
    if (it == m_entries.end()) {
        ++m_stats.misses;
        return {};
    }
    ++m_stats.hits;
    const bool firstUseOfPrefetch = it->prefetchPinned;
    it->prefetchPinned = false;
    m_policy->accessed(name, !firstUseOfPrefetch);
    return it->bytes;
}

bool ClientCache::contains(const QString &name) const
{
    QMutexLocker lock(&m_mutex);
    return m_entries.contains(name);
}

void ClientCache::insert(const QString &name, Bytes bytes, bool prefetched)
{
    if (!bytes)
        return;
    QMutexLocker lock(&m_mutex);
    if (m_entries.contains(name))
        drop(name, false);
    evictUntilFits(bytes->size(), 1);
    m_stats.insertedBytes += bytes->size();
    m_stats.residentBytes += bytes->size();
    m_entries.insert(name, Entry{std::move(bytes), prefetched});
    m_stats.residentChunks = int(m_entries.size());
    m_policy->inserted(name);
}

void ClientCache::remove(const QString &name)
{
    QMutexLocker lock(&m_mutex);
    if (m_entries.contains(name))
        drop(name, false);
}

void ClientCache::clear()
{
    QMutexLocker lock(&m_mutex);
    const QStringList names = m_entries.keys();
    for (const QString &name : names)
        drop(name, false);
}

void ClientCache::trim()
{
    QMutexLocker lock(&m_mutex);
    evictUntilFits(0, 0);
}

ClientCacheStats ClientCache::stats() const
{
    QMutexLocker lock(&m_mutex);
    return m_stats;
}

void ClientCache::resetStats()
{
    QMutexLocker lock(&m_mutex);
    const qint64 resident = m_stats.residentBytes;
    const int chunks = m_stats.residentChunks;
    m_stats = {};
    m_stats.residentBytes = resident;
    m_stats.residentChunks = chunks;
}

bool ClientCache::evictable(const QString &name) const
{
    const auto it = m_entries.constFind(name);
    // use_count() > 1: a caller still holds the bytes, so dropping them would free nothing.
    return it != m_entries.cend() && !it->prefetchPinned && it->bytes.use_count() <= 1;
}

bool ClientCache::overBudget(qint64 extraBytes, int extraChunks) const
{
    if (m_maxBytes > 0 && m_stats.residentBytes + extraBytes > m_maxBytes)
        return true;
    return m_maxChunks > 0 && m_entries.size() + extraChunks > m_maxChunks;
}

void ClientCache::evictUntilFits(qint64 extraBytes, int extraChunks)
{
    while (!m_entries.isEmpty() && overBudget(extraBytes, extraChunks)) {
        const QString victim = m_policy->victim([this](const QString &key) { return evictable(key); });
        if (victim.isEmpty()) {
            qCDebug(lcClientCache) << "over budget: every resident chunk is pinned";
            return;
        }
        drop(victim, true);
    }
}

void ClientCache::drop(const QString &name, bool eviction)
{
    const Entry entry = m_entries.take(name);
    m_policy->removed(name);
    m_stats.residentBytes -= entry.bytes->size();
    m_stats.residentChunks = int(m_entries.size());
    if (eviction) {
        ++m_stats.evictions;
        m_stats.evictedBytes += entry.bytes->size();
        qCDebug(lcClientCache) << "evicted" << name << entry.bytes->size() << "bytes";
    }
}

} // namespace surfing
