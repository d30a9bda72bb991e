// Slows token guessing down. Per client address (IPv6: per /64 network, which one client
// usually holds whole), the first `freeFailures` failed hellos cost nothing; from then on the
// address must wait before its next attempt, 1 s after the fifth failure and twice as long after
// each further one (at most 5 min). While it waits, its hellos are refused without looking at
// the token. A success clears the address; one quiet for `forgetAfterMs` is forgotten. The table
// is bounded, so many addresses cannot grow it without limit. Time is passed in (tests).
#pragma once

#include <QByteArray>
#include <QHash>
#include <QHostAddress>

namespace surfing {

class AuthThrottle
{
public:
    struct Settings {
        int freeFailures = 5;
        qint64 baseDelayMs = 1000;
        qint64 maxDelayMs = 5 * 60 * 1000;
        qint64 forgetAfterMs = 15 * 60 * 1000;
        int maxTracked = 10000;
    };

    AuthThrottle() : AuthThrottle(Settings()) {}
    explicit AuthThrottle(const Settings &settings);

    // Milliseconds `peer` must still wait before its next attempt; 0: it may try now.
    qint64 waitMs(const QHostAddress &peer, qint64 nowMs) const;
    void recordFailure(const QHostAddress &peer, qint64 nowMs);
    void recordSuccess(const QHostAddress &peer);
    int trackedAddresses() const { return int(m_entries.size()); }

private:
    struct Entry {
        int failures = 0;
        qint64 lastFailureMs = 0;
        qint64 blockedUntilMs = 0;
    };

    static QByteArray keyOf(const QHostAddress &peer);
    void makeRoom(qint64 nowMs);

    Settings m_settings;
    QHash<QByteArray, Entry> m_entries;
};

} // namespace surfing
