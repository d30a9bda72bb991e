#include "cache/lrupolicy.h"

namespace surfing {

void LruPolicy::moveToFront(const QString &key)
{
    const auto it = m_where.find(key);
    if (it != m_where.end())
        m_order.erase(it.value());
    m_order.push_front(key);
    m_where.insert(key, m_order.begin());
}

void LruPolicy::inserted(const QString &key)
{
    moveToFront(key);
}

void LruPolicy::accessed(const QString &key, bool)
{
    moveToFront(key);
}

void LruPolicy::removed(const QString &key)
{
    const auto it = m_where.find(key);
    if (it == m_where.end())
        return;
    m_order.erase(it.value());
    m_where.erase(it);
}

QString LruPolicy::victim(const std::function<bool(const QString &)> &evictable) const
{
    for (auto it = m_order.rbegin(); it != m_order.rend(); ++it) {
        if (evictable(*it))
            return *it;
    }
    return {};
}

} // namespace surfing
