#include "cache/scanresistantpolicy.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace surfing {
namespace {
// Access history kept for keys no longer resident: enough for any model's chunk count.
constexpr int kMaxHistory = 8192;
} // namespace

void ScanResistantPolicy::unlink(const QString &key)
{
    const auto it = m_slots.find(key);
    if (it == m_slots.end())
        return;
    (it->isProtected ? m_protected : m_probation).erase(it->where);
    m_slots.erase(it);
}

void ScanResistantPolicy::place(const QString &key, bool toProtected)
{
    unlink(key);
    std::list<QString> &segment = toProtected ? m_protected : m_probation;
    segment.push_front(key);
    m_slots.insert(key, Slot{toProtected, segment.begin()});
}

quint64 ScanResistantPolicy::coldestResidentTick() const
{
    quint64 coldest = std::numeric_limits<quint64>::max();
    if (!m_protected.empty())
        coldest = std::min(coldest, m_lastAccess.value(m_protected.back()));
    if (!m_probation.empty())
        coldest = std::min(coldest, m_lastAccess.value(m_probation.back()));
    return coldest;
}

void ScanResistantPolicy::touch(const QString &key)
{
    m_lastAccess.insert(key, ++m_tick);
    if (m_lastAccess.size() > kMaxHistory)
        pruneHistory();
}

void ScanResistantPolicy::pruneHistory()
{
    std::vector<quint64> ticks;
    for (auto it = m_lastAccess.cbegin(); it != m_lastAccess.cend(); ++it) {
        if (!m_slots.contains(it.key()))
            ticks.push_back(it.value());
    }
    if (ticks.empty())
        return;
    std::nth_element(ticks.begin(), ticks.begin() + ticks.size() / 2, ticks.end());
    const quint64 median = ticks[ticks.size() / 2];
    for (auto it = m_lastAccess.begin(); it != m_lastAccess.end();) {
        if (!m_slots.contains(it.key()) && it.value() <= median)
            it = m_lastAccess.erase(it);
        else
            ++it;
    }
}

void ScanResistantPolicy::inserted(const QString &key)
{
    unlink(key);
    const quint64 previous = m_lastAccess.value(key, 0);
    const bool hot = previous != 0 && previous > coldestResidentTick();
    touch(key);
    place(key, hot);
}

void ScanResistantPolicy::accessed(const QString &key, bool reuse)
{
    const auto it = m_slots.constFind(key);
    if (it == m_slots.cend())
        return;
    const bool toProtected = reuse || it->isProtected;
    touch(key);
    place(key, toProtected);
}

void ScanResistantPolicy::removed(const QString &key)
{
    unlink(key); // the access history stays: it is how a returning key proves it is hot
}

QString ScanResistantPolicy::victim(const std::function<bool(const QString &)> &evictable) const
{
    for (const QString &key : m_probation) {
        if (evictable(key))
            return key;
    }
    for (auto it = m_protected.rbegin(); it != m_protected.rend(); ++it) {
        if (evictable(*it))
            return *it;
    }
    return {};
}

} // namespace surfing
