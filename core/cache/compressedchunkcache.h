// The client's second cache tier, below the decoded ClientCache: the received bytes of chunks
// stored compressed (`chunk --compress`, zstd + byte grouping), about 0.7x of their decoded size
// in bf16, so a budget holds more layers. A miss in the decoded tier that this tier holds is
// decoded from here instead of fetched (FetchingChunkSource). Its own byte budget and policy
// (scan-resistant by default, as the decoded tier: a forward pass walks the layers in a cycle).
//
// Bytes enter when they arrive, already verified against the manifest; the tier keeps them
// as they are, and whoever decodes from it checks them again against the verified tag first
// (docs/protocol.md, "Threat model"). A chunk the decoded tier keeps hot is removed from here
// (remove()), so the two tiers hold different layers. Thread-safe.
#pragma once

#include "cache/cachepolicy.h"

#include <QByteArray>
#include <QHash>
#include <QMutex>
#include <QString>
#include <memory>

namespace surfing {

struct CompressedCacheStats {
    qint64 hits = 0;        // decoded-tier misses served from here (decoded instead of fetched)
    qint64 misses = 0;      // decoded-tier misses this tier did not hold (fetched)
    qint64 insertions = 0;
    qint64 evictions = 0;
    qint64 refused = 0;     // entries that failed their check at use: dropped and fetched again
    qint64 residentBytes = 0;
    int residentChunks = 0;
};

class CompressedChunkCache
{
public:
    explicit CompressedChunkCache(CachePolicyKind policy = CachePolicyKind::ScanResistant);
    ~CompressedChunkCache();

    // <= 0 turns the tier off (it then holds nothing). Evicts at once down to the new budget.
    void setBudget(qint64 maxBytes);
    qint64 maxBytes() const;
    bool isEnabled() const;

    // Keeps `stored` under `name` unless it is held already or larger than the whole budget,
    // evicting by policy until it fits. A buffer with spare capacity (a pooled one) is copied
    // to its size first, so the budget counts the memory held.
    void insert(const QString &name, const QByteArray &stored);
    // The bytes of `name` (a hit), or empty (a miss). Counts only while the tier is on.
    QByteArray lookup(const QString &name);
    bool contains(const QString &name) const;
    void remove(const QString &name);
    // `name`'s bytes failed their check: dropped and counted.
    void refuse(const QString &name);
    void clear();

    CompressedCacheStats stats() const;
    void resetStats();

private:
    void evictUntilFits(qint64 extraBytes);
    void drop(const QString &name);

    mutable QMutex m_mutex;
    std::unique_ptr<CachePolicy> m_policy;
    QHash<QString, QByteArray> m_entries;
    qint64 m_maxBytes = 0;
    CompressedCacheStats m_stats;
};

} // namespace surfing
