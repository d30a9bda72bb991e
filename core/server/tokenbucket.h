// A token bucket: `rate` tokens per second, holding at most `burst`. Used for the per-client
// request and byte limits (rejecting with retry_after_ms) and for the server-wide bandwidth
// limit (pacing). Time is passed in so tests can drive it without sleeping.
#pragma once

#include <QtGlobal>

namespace surfing {

class TokenBucket
{
public:
    // rate <= 0 disables the bucket: every take() succeeds.
    TokenBucket(double ratePerSecond = 0, double burst = 0);

    bool isEnabled() const { return m_rate > 0; }

    // Takes `amount` tokens if the bucket is not in debt and returns 0; otherwise takes nothing
    // and returns how many milliseconds until it would succeed. An amount larger than the burst
    // is allowed when the bucket is full (it then goes into debt), so a chunk larger than a
    // second's worth of bytes can still be served.
    qint64 take(double amount, qint64 nowMs);

    // Milliseconds until `amount` tokens are available, without taking any (0: now).
    qint64 waitFor(double amount, qint64 nowMs);

    double tokens(qint64 nowMs);

    // Monotonic milliseconds, the clock the server passes in.
    static qint64 steadyNowMs();

private:
    void refill(qint64 nowMs);

    double m_rate;
    double m_burst;
    double m_tokens;
    qint64 m_lastMs = -1;
};

} // namespace surfing
