#include "server/auththrottle.h"

#include <algorithm>
#include <vector>

namespace surfing {

AuthThrottle::AuthThrottle(const Settings &settings) : m_settings(settings) {}

QByteArray AuthThrottle::keyOf(const QHostAddress &peer)
{
    bool isV4 = false;
    const quint32 v4 = peer.toIPv4Address(&isV4); // also for ::ffff:a.b.c.d
    if (isV4)
        return QByteArray::number(v4);
    const Q_IPV6ADDR v6 = peer.toIPv6Address();
    return QByteArray(reinterpret_cast<const char *>(v6.c), 8); // the /64 network
}

qint64 AuthThrottle::waitMs(const QHostAddress &peer, qint64 nowMs) const
{
    const auto it = m_entries.constFind(keyOf(peer));
    if (it == m_entries.cend())
        return 0;
    return qMax<qint64>(0, it->blockedUntilMs - nowMs);
}

void AuthThrottle::recordFailure(const QHostAddress &peer, qint64 nowMs)
{
    const QByteArray key = keyOf(peer);
    if (!m_entries.contains(key) && m_entries.size() >= m_settings.maxTracked)
        makeRoom(nowMs);
    Entry &e = m_entries[key];
    if (e.failures > 0 && nowMs - e.lastFailureMs > m_settings.forgetAfterMs)
        e = Entry();
    ++e.failures;
    e.lastFailureMs = nowMs;
    const int over = e.failures - m_settings.freeFailures;
    if (over >= 0) {
        const qint64 delay = m_settings.baseDelayMs << qMin(over, 20);
        e.blockedUntilMs = nowMs + qMin(delay, m_settings.maxDelayMs);
    }
}

void AuthThrottle::recordSuccess(const QHostAddress &peer)
{
    m_entries.remove(keyOf(peer));
}

// Forgets quiet addresses; if that is not enough, the tenth that failed longest ago.
void AuthThrottle::makeRoom(qint64 nowMs)
{
    m_entries.removeIf([&](const auto &it) {
        return nowMs - it.value().lastFailureMs > m_settings.forgetAfterMs && it.value().blockedUntilMs <= nowMs;
    });
    if (m_entries.size() < m_settings.maxTracked)
        return;
    std::vector<qint64> times;
    times.reserve(m_entries.size());
    for (const Entry &e : std::as_const(m_entries))
        times.push_back(e.lastFailureMs);
    const auto cut = times.begin() + qMax<qsizetype>(1, qsizetype(times.size()) / 10) - 1;
    std::nth_element(times.begin(), cut, times.end());
    const qint64 oldest = *cut;
    m_entries.removeIf([oldest](const auto &it) { return it.value().lastFailureMs <= oldest; });
}

} // namespace surfing
