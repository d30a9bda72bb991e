// How a ClientCache picks what to evict. The cache tells its policy about every insertion,
// access and removal; the policy keeps only keys and order, never bytes.
#pragma once

#include <QString>
#include <functional>
#include <memory>
#include <optional>

namespace surfing {

enum class CachePolicyKind {
    Lru,          // plain least-recently-used; a cyclic scan larger than the cache hits nothing
    ScanResistant // keeps a resident set through cyclic scans (see scanresistantpolicy.h)
};

QString cachePolicyName(CachePolicyKind kind); // "lru", "scan"
std::optional<CachePolicyKind> cachePolicyFromName(const QString &name);

class CachePolicy
{
public:
    virtual ~CachePolicy() = default;

    virtual void inserted(const QString &key) = 0;
    // `reuse` is false for the first use of an entry that was prefetched (inserted before it
    // was asked for): that is not a sign the entry is hot.
    virtual void accessed(const QString &key, bool reuse) = 0;
    virtual void removed(const QString &key) = 0;

    // The key to evict next among those `evictable` accepts; empty when there is none.
    virtual QString victim(const std::function<bool(const QString &)> &evictable) const = 0;
};

std::unique_ptr<CachePolicy> makeCachePolicy(CachePolicyKind kind);

} // namespace surfing
