// The client's cache of decoded chunks: a budget in bytes and/or in chunks, a pluggable eviction
// policy (scan-resistant by default, plain LRU for comparison), and pinning. An entry is pinned
// while it is prefetched but not yet used, or while anyone outside the cache still holds its
// bytes (compute is using the layer): evicting it would free nothing. Prefetched entries stay
// outside the budget until their first use (they are the prefetch window, bounded by the prefetch
// depth), so prefetching never pushes out the chunks the policy chose to keep. When the order of
// the coming uses is known (setUpcoming(): a decoder walks its units in the same order at every
// step), eviction follows it instead of the policy. Thread-safe.
#pragma once

#include "cache/cachepolicy.h"

#include <QByteArray>
#include <QHash>
#include <QMutex>
#include <QString>
#include <QStringList>
#include <memory>

namespace surfing {

struct ClientCacheStats {
    qint64 hits = 0;
    qint64 misses = 0;
    qint64 evictions = 0;
    qint64 evictedBytes = 0;
    qint64 insertedBytes = 0;
    qint64 residentBytes = 0;    // everything held, prefetched entries included
    int residentChunks = 0;
    qint64 prefetchedBytes = 0;  // prefetched, not yet used: outside the budget
    int prefetchedChunks = 0;
    double hitRate() const { return hits + misses ? double(hits) / double(hits + misses) : 0.0; }
};

class ClientCache
{
public:
    using Bytes = std::shared_ptr<const QByteArray>;

    explicit ClientCache(CachePolicyKind policy = CachePolicyKind::ScanResistant);
    ~ClientCache();

    // <= 0 means no limit of that kind. Evicts at once down to the new budget.
    void setBudget(qint64 maxBytes, int maxChunks);
    qint64 maxBytes() const;
    int maxChunks() const;
    CachePolicyKind policy() const { return m_policyKind; }

    // Counts a hit or a miss. A hit on a prefetched entry releases its prefetch pin.
    Bytes lookup(const QString &name);
    bool contains(const QString &name) const;
    enum class Residency {
        Absent,
        InBudget,        // held under the budget
        PrefetchPending, // stored by a prefetch, not looked up yet: pinned outside the budget
    };
    // One lookup for what contains() and the entry's pin would tell apart.
    Residency residency(const QString &name) const;

    // Stores `bytes` under `name` (replacing an older entry) and evicts unpinned entries until
    // the budget holds again. `prefetched`: pinned and outside the budget until the first
    // lookup(), which brings it under the budget. When everything is pinned the cache runs over
    // budget until entries are released (see trim()).
    void insert(const QString &name, Bytes bytes, bool prefetched = false);
    void remove(const QString &name);
    // A prefetched entry that will not be used soon after all: unpinned and brought under the
    // budget (which may evict it at once). Nothing for other entries.
    void releasePrefetch(const QString &name);
    void clear();
    // Evicts what became evictable; call after releasing bytes obtained from lookup().
    void trim();

    // The units that will be looked up, in order, from order[next] on, wrapping to the head
    // (the next step walks the same order). Eviction then drops the entry whose next use is the
    // farthest (Belady's choice; entries not in the order first), so the chunks a cyclic walk
    // misses are the ones just used, whose next use is far enough ahead for a prefetch to hide
    // their fetch, rather than the ones needed next. An empty order goes back to the policy.
    void setUpcoming(const QStringList &order, int next);

    ClientCacheStats stats() const;
    void resetStats();

private:
    struct Entry {
        Bytes bytes;
        bool prefetchPinned = false;
    };

    bool evictable(const QString &name) const;
    QString plannedVictim() const;
    void unpinPrefetched(Entry &entry);
    void enterBudget(const QString &name, Entry &entry);
    bool overBudget(qint64 extraBytes, int extraChunks) const;
    void evictUntilFits(qint64 extraBytes, int extraChunks);
    void drop(const QString &name, bool eviction);

    mutable QMutex m_mutex;
    CachePolicyKind m_policyKind;
    std::unique_ptr<CachePolicy> m_policy;
    QHash<QString, Entry> m_entries;
    QStringList m_upcomingOrder;
    QHash<QString, int> m_upcomingPosition; // unit -> index in m_upcomingOrder
    int m_upcomingNext = 0;
    qint64 m_maxBytes = 0;
    int m_maxChunks = 0;
    ClientCacheStats m_stats;
};

} // namespace surfing
