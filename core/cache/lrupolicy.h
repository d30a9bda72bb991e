// Plain LRU: evicts the entry used longest ago. The baseline the scan-resistant policy beats.
#pragma once

#include "cache/cachepolicy.h"

#include <QHash>
#include <list>

namespace surfing {

class LruPolicy : public CachePolicy
{
public:
    void inserted(const QString &key) override;
    void accessed(const QString &key, bool reuse) override;
    void removed(const QString &key) override;
    QString victim(const std::function<bool(const QString &)> &evictable) const override;

private:
    void moveToFront(const QString &key);

    std::list<QString> m_order; // front: most recently used
    QHash<QString, std::list<QString>::iterator> m_where;
};

} // namespace surfing
