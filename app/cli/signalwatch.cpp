#include "signalwatch.h"

#include "base/error.h"

#include <QSocketNotifier>
#include <csignal>
#include <iterator>
#include <sys/socket.h>
#include <unistd.h>

namespace surfing::cli {
namespace {

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
int g_fds[2] = {-1, -1};
struct sigaction g_previous[std::size(kSignals)];

void onSignal(int signal)
{
    const char byte = char(signal);
    [[maybe_unused]] const ssize_t n = ::write(g_fds[0], &byte, 1);
}

} // namespace

SignalWatch::SignalWatch(std::function<void(int)> onSignal_)
    : m_onSignal(std::move(onSignal_))
{
    Q_ASSERT_X(g_fds[0] < 0, "SignalWatch", "one at a time");
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, g_fds) != 0)
        throw Error(QStringLiteral("cannot create the socket pair for signals"));
    m_notifier = std::make_unique<QSocketNotifier>(g_fds[1], QSocketNotifier::Read);
    QObject::connect(m_notifier.get(), &QSocketNotifier::activated, m_notifier.get(), [this] {
        char byte = 0;
        if (::read(g_fds[1], &byte, 1) != 1 || m_caught)
            return;
        m_caught = byte;
        m_onSignal(m_caught);
    });
    struct sigaction action = {};
    action.sa_handler = onSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    for (size_t i = 0; i < std::size(kSignals); ++i)
        sigaction(kSignals[i], &action, &g_previous[i]);
}

SignalWatch::~SignalWatch()
{
    for (size_t i = 0; i < std::size(kSignals); ++i)
        sigaction(kSignals[i], &g_previous[i], nullptr);
    m_notifier.reset();
    ::close(g_fds[0]);
    ::close(g_fds[1]);
    g_fds[0] = g_fds[1] = -1;
}

QString SignalWatch::name(int signal)
{
    switch (signal) {
    case SIGINT: return QStringLiteral("SIGINT");
    case SIGTERM: return QStringLiteral("SIGTERM");
    case SIGHUP: return QStringLiteral("SIGHUP");
    }
    return QStringLiteral("signal %1").arg(signal);
}

} // namespace surfing::cli
