#include "cache/cachepolicy.h"

#include "cache/lrupolicy.h"
#include "cache/scanresistantpolicy.h"

namespace surfing {

QString cachePolicyName(CachePolicyKind kind)
{
    return kind == CachePolicyKind::Lru ? QStringLiteral("lru") : QStringLiteral("scan");
}

std::optional<CachePolicyKind> cachePolicyFromName(const QString &name)
{
    if (name == QLatin1String("lru"))
        return CachePolicyKind::Lru;
    if (name == QLatin1String("scan"))
        return CachePolicyKind::ScanResistant;
    return std::nullopt;
}

std::unique_ptr<CachePolicy> makeCachePolicy(CachePolicyKind kind)
{
    if (kind == CachePolicyKind::Lru)
        return std::make_unique<LruPolicy>();
    return std::make_unique<ScanResistantPolicy>();
}

} // namespace surfing
