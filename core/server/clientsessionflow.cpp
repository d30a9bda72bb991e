// ClientSession's flow control: when it takes a client's requests (or holds them back while the
// connection or the server is over a bound), and when a connection is idle or stalled.
#include "server/clientsession.h"

#include "server/chunksender.h"
#include "server/clientframereader.h"
#include "server/weightserver.h"

#include <QLoggingCategory>
#include <QTcpSocket>
#include <QWebSocket>
#include <algorithm>
#include <sys/socket.h>

Q_DECLARE_LOGGING_CATEGORY(lcSession)

namespace surfing {

using namespace protocol;

namespace {

// Requests wait while this much of the connection's replies is unsent: a client that asks and
// never reads stops being read. Above what ChunkSender keeps queued, so a get being sent does
// not hold back a ping.
constexpr qint64 kMaxUnsentBytes = 4 * 1024 * 1024;
// Requests held back (for the bound above or the send budgets) before reading stops too; until
// then a cancel still gets through.
constexpr size_t kMaxHeldRequests = 64;

} // namespace

void ClientSession::restartIdleTimer()
{
    if (m_server->options().idleTimeoutSeconds > 0)
        m_idleTimer.start(m_server->options().idleTimeoutSeconds * 1000);
}

void ClientSession::abortWith(const QString &reason)
{
    qCInfo(lcSession) << m_peer << "closed:" << reason;
    m_closing = true;
    m_reader->stop();
    m_sender->clear();
    m_gets.clear();
    m_held.clear();
    // A close frame would wait behind the replies it does not read, and so would a FIN: the
    // kernel would keep the socket and its buffer for minutes. Reset the connection instead.
    if (m_wire && m_wire->socketDescriptor() >= 0) {
        const linger reset = {1, 0};
        ::setsockopt(int(m_wire->socketDescriptor()), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    }
    m_socket->abort();
}

bool ClientSession::hasUnsentOutput() const
{
    return (m_wire && m_wire->bytesToWrite() > 0) || m_sender->activeCount() > 0;
}

void ClientSession::onIdleTimeout()
{
    const qint64 timeoutMs = qint64(m_server->options().idleTimeoutSeconds) * 1000;
    if (m_closing || timeoutMs <= 0)
        return;
    if (hasUnsentOutput()) {
        // Replies wait for the client: only its taking bytes counts as activity, so a client
        // that asks and never reads is closed like an idle one.
        const qint64 quietMs = m_lastWrite.elapsed();
        if (quietMs >= timeoutMs)
            return abortWith(QStringLiteral("took none of its replies for %1 s").arg(m_server->options().idleTimeoutSeconds));
        m_idleTimer.start(int(timeoutMs - quietMs));
        return;
    }
    if (!m_gets.isEmpty() || !m_held.empty()) { // still working for the client: not idle
        m_idleTimer.start(int(timeoutMs));
        return;
    }
    closeWith(QWebSocketProtocol::CloseCodeGoingAway,
              QStringLiteral("idle for %1 s").arg(m_server->options().idleTimeoutSeconds));
}

void ClientSession::onWriteProgress()
{
    m_lastWrite.restart();
    if (!m_held.empty())
        takeHeldRequests();
}

// Handles a request now, or holds it (in order) while the connection or the server is over a
// bound. A cancel never waits: it also drops a held get it names.
void ClientSession::takeRequest(const Request &request)
{
    if (request.type == ClientMessageType::Cancel) {
        m_held.erase(std::remove_if(m_held.begin(), m_held.end(),
                                    [&](const Request &r) { return r.type == ClientMessageType::Get && r.id == request.id; }),
                     m_held.end());
        return handleRequest(request);
    }
    if (m_held.empty() && canTake(request))
        return handleRequest(request);
    m_held.push_back(request);
    if (m_held.size() >= kMaxHeldRequests)
        m_reader->setPaused(true);
}

bool ClientSession::canTake(const Request &request) const
{
    if (m_wire && m_wire->bytesToWrite() >= kMaxUnsentBytes)
        return false;
    if (request.type != ClientMessageType::Get)
        return true;
    const qint64 bound = m_server->options().connectionSendBytes;
    if (bound > 0 && reservedBytes() >= bound)
        return false;
    return m_server->sendBudget().hasRoom();
}

qint64 ClientSession::reservedBytes() const
{
    qint64 total = 0;
    for (const PendingGet &get : m_gets)
        total += get.reservation ? get.reservation->bytes() : 0;
    return total;
}

void ClientSession::takeHeldRequests()
{
    if (m_taking || m_closing || !m_reader)
        return;
    m_taking = true;
    while (!m_held.empty() && !m_closing && canTake(m_held.front())) {
        const Request request = std::move(m_held.front());
        m_held.pop_front();
        handleRequest(request);
    }
    m_taking = false;
    if (!m_closing && m_held.size() < kMaxHeldRequests)
        m_reader->setPaused(false);
}

} // namespace surfing
