#include "cache/clientcache.h"

#include "cache/chunkbufferpool.h"

#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcClientCache, "surfing.cache")

namespace surfing {

ClientCache::ClientCache(CachePolicyKind policy)
    : m_policyKind(policy), m_policy(makeCachePolicy(policy))
{
}

ClientCache::~ClientCache()
{
    ChunkBufferPool::instance().grant(-m_maxBytes);
}

void ClientCache::setBudget(qint64 maxBytes, int maxChunks)
{
    QMutexLocker lock(&m_mutex);
    // What this budget may hold, the pool may hold as free buffers for the chunks that refill it.
    ChunkBufferPool::instance().grant(qMax<qint64>(0, maxBytes) - m_maxBytes);
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
    Bytes bytes = it->bytes; // held from here on, so the eviction below cannot pick it
    if (it->prefetchPinned) {
        enterBudget(name, *it);
        evictUntilFits(0, 0);
    } else {
        m_policy->accessed(name, true);
    }
    return bytes;
}

bool ClientCache::contains(const QString &name) const
{
    QMutexLocker lock(&m_mutex);
    return m_entries.contains(name);
}

ClientCache::Residency ClientCache::residency(const QString &name) const
{
    QMutexLocker lock(&m_mutex);
    const auto it = m_entries.constFind(name);
    if (it == m_entries.constEnd())
        return Residency::Absent;
    return it->prefetchPinned ? Residency::PrefetchPending : Residency::InBudget;
}

void ClientCache::insert(const QString &name, Bytes bytes, bool prefetched)
{
    if (!bytes)
        return;
    QMutexLocker lock(&m_mutex);
    if (m_entries.contains(name))
        drop(name, false);
    if (prefetched) {
        m_stats.prefetchedBytes += bytes->size();
        ++m_stats.prefetchedChunks;
    } else {
        evictUntilFits(bytes->size(), 1);
    }
    m_stats.insertedBytes += bytes->size();
    m_stats.residentBytes += bytes->size();
    m_entries.insert(name, Entry{std::move(bytes), prefetched});
    m_stats.residentChunks = int(m_entries.size());
    if (!prefetched)
        m_policy->inserted(name);
}

void ClientCache::remove(const QString &name)
{
    QMutexLocker lock(&m_mutex);
    if (m_entries.contains(name))
        drop(name, false);
}

void ClientCache::releasePrefetch(const QString &name)
{
    QMutexLocker lock(&m_mutex);
    const auto it = m_entries.find(name);
    if (it == m_entries.end() || !it->prefetchPinned)
        return;
    enterBudget(name, *it);
    evictUntilFits(0, 0);
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
    const ClientCacheStats held = m_stats;
    m_stats = {};
    m_stats.residentBytes = held.residentBytes;
    m_stats.residentChunks = held.residentChunks;
    m_stats.prefetchedBytes = held.prefetchedBytes;
    m_stats.prefetchedChunks = held.prefetchedChunks;
}

bool ClientCache::evictable(const QString &name) const
{
    const auto it = m_entries.constFind(name);
    // use_count() > 1: a caller still holds the bytes, so dropping them would free nothing.
    return it != m_entries.cend() && !it->prefetchPinned && it->bytes.use_count() <= 1;
}

void ClientCache::unpinPrefetched(Entry &entry)
{
    entry.prefetchPinned = false;
    m_stats.prefetchedBytes -= entry.bytes->size();
    --m_stats.prefetchedChunks;
}

// The policy hears of a prefetched entry only now, as if it had arrived just when it was needed:
// told at arrival, a chunk prefetched many layers ahead would look older than the layers used
// in between, and the policy would keep or evict the wrong ones.
void ClientCache::enterBudget(const QString &name, Entry &entry)
{
    unpinPrefetched(entry);
    m_policy->inserted(name);
}

bool ClientCache::overBudget(qint64 extraBytes, int extraChunks) const
{
    const qint64 budgetedBytes = m_stats.residentBytes - m_stats.prefetchedBytes;
    const int budgetedChunks = int(m_entries.size()) - m_stats.prefetchedChunks;
    if (m_maxBytes > 0 && budgetedBytes + extraBytes > m_maxBytes)
        return true;
    return m_maxChunks > 0 && budgetedChunks + extraChunks > m_maxChunks;
}

void ClientCache::setUpcoming(const QStringList &order, int next)
{
    QMutexLocker lock(&m_mutex);
    if (order != m_upcomingOrder) { // the same list again (shared data) compares at once
        m_upcomingOrder = order;
        m_upcomingPosition.clear();
        for (int i = 0; i < order.size(); ++i)
            m_upcomingPosition.insert(order[i], i);
    }
    m_upcomingNext = order.isEmpty() ? 0 : ((next % order.size()) + order.size()) % order.size();
}

QString ClientCache::plannedVictim() const
{
    const int n = int(m_upcomingOrder.size());
    QString victim;
    int farthest = -1;
    for (auto it = m_entries.cbegin(); it != m_entries.cend(); ++it) {
        if (!evictable(it.key()))
            continue;
        const int position = m_upcomingPosition.value(it.key(), -1);
        const int distance = position < 0 ? n : (position - m_upcomingNext + n) % n;
        if (distance > farthest) {
            farthest = distance;
            victim = it.key();
        }
    }
    return victim;
}

void ClientCache::evictUntilFits(qint64 extraBytes, int extraChunks)
{
    while (m_entries.size() > m_stats.prefetchedChunks && overBudget(extraBytes, extraChunks)) {
        const QString victim = !m_upcomingOrder.isEmpty()
                                   ? plannedVictim()
                                   : m_policy->victim([this](const QString &key) { return evictable(key); });
        if (victim.isEmpty()) {
            qCDebug(lcClientCache) << "over budget: every resident chunk is pinned";
            return;
        }
        drop(victim, true);
    }
}

void ClientCache::drop(const QString &name, bool eviction)
{
    Entry entry = m_entries.take(name);
    if (entry.prefetchPinned)
        unpinPrefetched(entry);
    m_policy->removed(name);
    m_stats.residentBytes -= entry.bytes->size();
    m_stats.residentChunks = int(m_entries.size());
    if (eviction) {
        ++m_stats.evictions;
        m_stats.evictedBytes += entry.bytes->size();
        qCDebug(lcClientCache) << "evicted" << name << entry.bytes->size() << "bytes";
    }
    ChunkBufferPool::instance().recycle(entry.bytes); // the next chunk to arrive reuses its pages
}

} // namespace surfing
