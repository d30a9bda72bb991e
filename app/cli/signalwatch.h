// SIGINT, SIGTERM and SIGHUP turned into a call on the event loop, for a command that must clean
// up (remove a half-made directory) before it exits. The handler only writes a byte to a socket
// pair; the call happens when the event loop reads it. One watch at a time; the previous
// handlers come back when it is destroyed.
#pragma once

#include <QString>
#include <functional>
#include <memory>

class QSocketNotifier;

namespace surfing::cli {

class SignalWatch
{
public:
    explicit SignalWatch(std::function<void(int signal)> onSignal); // throws surfing::Error
    ~SignalWatch();
    SignalWatch(const SignalWatch &) = delete;
    SignalWatch &operator=(const SignalWatch &) = delete;

    // The signal that arrived (once the event loop saw it), 0 when none did.
    int caught() const { return m_caught; }
    static QString name(int signal); // "SIGINT"

private:
    std::function<void(int)> m_onSignal;
    std::unique_ptr<QSocketNotifier> m_notifier;
    int m_caught = 0;
};

} // namespace surfing::cli
