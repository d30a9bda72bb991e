// A scan-resistant eviction policy for layer-by-layer inference, where every forward pass walks
// the chunks in the same cyclic order. Plain LRU then evicts each chunk just before it is needed
// again and, with room for C < N chunks, hits nothing.
//
// Entries start in a probation segment and move to a protected segment when they are used
// again. Victims come from probation first, newest first, so on a cyclic scan the first C-1
// chunks stay resident and one slot rotates: every pass after the first hits C-1 of N (LIRS-
// style). To adapt when the workload changes, a missed key whose previous access is more recent
// than the coldest resident entry (its reuse distance is shorter than that entry's age) is
// admitted straight into protected; the protected segment is LRU among itself.
#pragma once

#include "cache/cachepolicy.h"

#include <QHash>
#include <list>

namespace surfing {

class ScanResistantPolicy : public CachePolicy
{
public:
    void inserted(const QString &key) override;
    void accessed(const QString &key, bool reuse) override;
    void removed(const QString &key) override;
    QString victim(const std::function<bool(const QString &)> &evictable) const override;

private:
    struct Slot {
        bool isProtected = false;
        std::list<QString>::iterator where;
    };

    void place(const QString &key, bool toProtected);
    void unlink(const QString &key);
    quint64 coldestResidentTick() const;
    void touch(const QString &key);
    void pruneHistory();

    quint64 m_tick = 0;
    std::list<QString> m_probation; // front: most recently touched
    std::list<QString> m_protected; // front: most recently used
    QHash<QString, Slot> m_slots;
    QHash<QString, quint64> m_lastAccess; // resident keys and recently evicted ones
};

} // namespace surfing
