#include "server/tokenbucket.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace surfing {

TokenBucket::TokenBucket(double ratePerSecond, double burst)
    : m_rate(ratePerSecond), m_burst(std::max(burst, ratePerSecond > 0 ? 1.0 : 0.0)), m_tokens(m_burst)
{
}

void TokenBucket::refill(qint64 nowMs)
{
    if (m_lastMs >= 0 && nowMs > m_lastMs)
        m_tokens = std::min(m_burst, m_tokens + m_rate * double(nowMs - m_lastMs) / 1000.0);
    if (m_lastMs < 0 || nowMs > m_lastMs)
        m_lastMs = nowMs;
}

qint64 TokenBucket::steadyNowMs()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

double TokenBucket::tokens(qint64 nowMs)
{
    refill(nowMs);
    return m_tokens;
}

qint64 TokenBucket::waitFor(double amount, qint64 nowMs)
{
    if (!isEnabled())
        return 0;
    refill(nowMs);
    // Amounts above the burst only need a full bucket.
    const double needed = std::min(amount, m_burst);
    if (m_tokens >= needed)
        return 0;
    return std::max<qint64>(1, qint64(std::ceil((needed - m_tokens) * 1000.0 / m_rate)));
}

qint64 TokenBucket::take(double amount, qint64 nowMs)
{
    const qint64 wait = waitFor(amount, nowMs);
    if (wait == 0 && isEnabled())
        m_tokens -= amount;
    return wait;
}

} // namespace surfing
