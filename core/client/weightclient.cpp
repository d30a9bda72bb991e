#include "client/weightclient.h"

#include "base/error.h"
#include "base/sha256.h"
#include "client/chunksource.h"
#include "client/chunkverifier.h"
#include "client/memorylimit.h"
#include "protocol/messages.h"
#include "protocol/piece.h"
#include "protocol/transfermemory.h"
#include "client/weightclientpending.h"
#include "client/websocketclient.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QRandomGenerator>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QTimer>
#include <QtConcurrent>
#include <utility>

Q_LOGGING_CATEGORY(lcClient, "surfing.client")

namespace surfing {

using namespace protocol;

qint64 WeightClient::nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

QString connectionStateName(ConnectionState state)
{
    switch (state) {
    case ConnectionState::Disconnected: return QStringLiteral("disconnected");
    case ConnectionState::Connecting: return QStringLiteral("connecting");
    case ConnectionState::Ready: return QStringLiteral("ready");
    case ConnectionState::Reconnecting: return QStringLiteral("reconnecting");
    }
    return {};
}

WeightClient::WeightClient(WeightClientOptions options, QObject *parent)
    : QObject(parent), m_options(std::move(options))
{
    m_model = m_options.model;
    if (m_model.isEmpty())
        m_model = m_options.url.path().mid(1);
    m_decodePool.setMaxThreadCount(qMax(2, QThread::idealThreadCount()));
    protocol::keepTransferMemoryResident();
}

WeightClient::~WeightClient()
{
    m_decodePool.waitForDone();
    qDeleteAll(m_pending);
}

// ---- thread-safe API -----------------------------------------------------------------------

quint32 WeightClient::enqueue(Kind kind, const QString &name, bool stored)
{
    quint32 id = ++m_nextId;
    if (id == 0)
        id = ++m_nextId;
    QMetaObject::invokeMethod(this, [this, id, kind, name, stored] { addRequest(id, kind, name, stored); });
    return id;
}

quint32 WeightClient::fetchChunk(const QString &name, bool stored)
{
    return enqueue(Kind::Chunk, name, stored);
}

quint32 WeightClient::fetchFile(const QString &name)
{
    return enqueue(Kind::File, name, true);
}

void WeightClient::cancel(quint32 id)
{
    QMetaObject::invokeMethod(this, [this, id] { cancelRequest(id); });
}

bool WeightClient::hasManifest() const
{
    QMutexLocker lock(&m_mutex);
    return m_hasManifest;
}

ChunkManifest WeightClient::manifest() const
{
    QMutexLocker lock(&m_mutex);
    return m_manifest;
}

QByteArray WeightClient::manifestJson() const
{
    QMutexLocker lock(&m_mutex);
    return m_manifestJson;
}

QString WeightClient::modelName() const
{
    QMutexLocker lock(&m_mutex);
    return m_model;
}

ConnectionState WeightClient::state() const
{
    QMutexLocker lock(&m_mutex);
    return m_state;
}

int WeightClient::pendingRequests() const
{
    QMutexLocker lock(&m_mutex);
    return int(m_pending.size());
}

// ---- connection ----------------------------------------------------------------------------

void WeightClient::open()
{
    m_closing = false;
    if (!m_tick) {
        m_tick = new QTimer(this);
        const int shortest = m_options.peerTimeoutMs > 0 ? qMin(m_options.requestTimeoutMs, m_options.peerTimeoutMs)
                                                         : m_options.requestTimeoutMs;
        m_tick->setInterval(qBound(20, shortest / 8, 500));
        connect(m_tick, &QTimer::timeout, this, &WeightClient::onTick);
        m_tick->start();
    }
    if (!m_hasManifest && !m_manifestRequested) {
        m_manifestRequested = true;
        quint32 id = ++m_nextId;
        addRequest(id ? id : quint32(++m_nextId), Kind::Manifest, QString(), false);
    }
    setState(ConnectionState::Connecting);
    connectSocket();
}

void WeightClient::close()
{
    m_closing = true;
    if (m_socket)
        m_socket->close();
    setState(ConnectionState::Disconnected);
}

void WeightClient::setState(ConnectionState state)
{
    {
        QMutexLocker lock(&m_mutex);
        if (m_state == state)
            return;
        m_state = state;
    }
    qCDebug(lcClient) << "connection" << connectionStateName(state);
    Q_EMIT connectionStateChanged(state);
}

void WeightClient::connectSocket()
{
    if (m_socket)
        m_socket->deleteLater();
    m_welcomed = false;
    m_socket = new WebSocketClient(this);
    m_sinkBuffer.clear();
    m_attemptError.clear();
    m_refusal.clear();
    m_socket->setMaxIncomingMessageBytes(kPieceHeaderBytes + 64 * 1024 * 1024);
    m_socket->setMaxIncomingTextBytes(kMaxServerTextBytes);
    m_socket->setHandshakeTimeout(m_options.connectTimeoutMs);
    if (!m_options.caCertificateFile.isEmpty()) {
        QSslConfiguration ssl = QSslConfiguration::defaultConfiguration();
        const auto certs = QSslCertificate::fromPath(m_options.caCertificateFile);
        if (certs.isEmpty())
            qCWarning(lcClient) << "no certificate found in" << m_options.caCertificateFile;
        ssl.addCaCertificates(certs);
        m_socket->setSslConfiguration(ssl);
    }
    WebSocketClient::BinarySink sink;
    sink.prefixBytes = kPieceHeaderBytes;
    sink.destination = [this](QByteArrayView header, qint64 bytes) { return pieceDestination(header, bytes); };
    sink.delivered = [this](QByteArrayView header, qint64 bytes) { pieceDelivered(header, bytes); };
    m_socket->setBinarySink(std::move(sink));
    connect(m_socket, &WebSocketClient::connected, this, &WeightClient::onConnected);
    m_socketEnded = false;
    WebSocketClient *socket = m_socket;
    auto ended = [this, socket] {
        if (socket == m_socket && !m_socketEnded) {
            m_socketEnded = true;
            QMetaObject::invokeMethod(this, &WeightClient::onDisconnected, Qt::QueuedConnection);
        }
    };
    connect(m_socket, &WebSocketClient::disconnected, this, ended);
    connect(m_socket, &WebSocketClient::textMessageReceived, this, &WeightClient::onText);
    connect(m_socket, &WebSocketClient::binaryMessageReceived, this, &WeightClient::onBinary);
    connect(m_socket, &WebSocketClient::sslErrors, this, [this](const QList<QSslError> &errors) {
        for (const QSslError &e : errors)
            qCWarning(lcClient) << "TLS:" << e.errorString();
    });
    m_connectStartedMs = nowMs();
    if (!m_everWelcomed && m_firstAttemptMs == 0)
        m_firstAttemptMs = m_connectStartedMs;
    m_socket->open(m_options.url);
}

void WeightClient::onConnected()
{
    Hello hello;
    hello.client = m_options.clientName;
    hello.token = m_options.token;
    hello.model = modelName();
    m_socket->sendTextMessage(encodeHello(hello));
}

void WeightClient::handleWelcome(const QByteArray &text)
{
    const ServerMessage m = parseServerMessage(text);
    if (m.type == ServerMessageType::Error) {
        const QString code = errorCodeName(m.error.code);
        const QString message = QStringLiteral("server %1 refused the connection (%2): %3")
                                    .arg(m_options.url.toDisplayString(), code, m.error.message);
        if (m.error.code == ErrorCode::Internal) {
            // The server cannot read its storage now ("try again later"): connect again, as
            // after a dropped connection (a first connection only while connecting may last),
            // rather than failing what is pending.
            m_refusal = message;
            m_socketEnded = true;
            m_socket->abort();
            QMetaObject::invokeMethod(this, &WeightClient::onDisconnected, Qt::QueuedConnection);
            return;
        }
        failEverything(code, message);
        return;
    }
    if (m.type != ServerMessageType::Welcome)
        throw ProtocolError(ErrorCode::BadRequest, QStringLiteral("expected 'welcome' first"));
    m_welcomed = true;
    if (std::exchange(m_everWelcomed, true))
        m_reconnects.fetchAndAddRelaxed(1);
    m_reconnectAttempt = 0;
    m_maxInFlight = qBound(1, m.welcome.maxInFlight, 4096);
    m_maxPieceBytes = qBound(1, m.welcome.maxPieceBytes, 64 * 1024 * 1024);
    {
        QMutexLocker lock(&m_mutex);
        if (m_model.isEmpty())
            m_model = m.welcome.defaultModel;
    }
    if (modelName().isEmpty()) {
        failEverything(QStringLiteral("not_found"), QStringLiteral("server %1 has no default model; pick one of: %2")
                                                        .arg(m_options.url.toDisplayString(), m.welcome.models.join(QStringLiteral(", "))));
        return;
    }
    setState(ConnectionState::Ready);
    pump();
}

void WeightClient::onDisconnected()
{
    if (m_closing || m_state == ConnectionState::Disconnected)
        return;
    const QString why = !m_attemptError.isEmpty() ? m_attemptError
                        : !m_refusal.isEmpty()   ? m_refusal
                        : m_socket               ? m_socket->errorString()
                                                 : QString();
    if (givesUp()) {
        // Another attempt would meet the same answer (or the time for connecting is up).
        const bool broken = m_socket && m_socket->failure() == WebSocketClient::Failure::Protocol;
        failEverything(broken ? QStringLiteral("protocol") : QStringLiteral("connection"),
                       m_everWelcomed || why.contains(m_options.url.toDisplayString())
                           ? why : QStringLiteral("cannot connect to %1: %2").arg(m_options.url.toDisplayString(), why));
        return;
    }
    qCInfo(lcClient).noquote() << "connection to" << m_options.url.toDisplayString() << "ended:" << why;
    requeueInFlight();
    scheduleReconnect();
}

bool WeightClient::givesUp() const
{
    const WebSocketClient::Failure failure = m_socket ? m_socket->failure() : WebSocketClient::Failure::Network;
    if (failure == WebSocketClient::Failure::Protocol)
        return true;
    if (m_everWelcomed)
        return false;
    // The first connection: a server that was reached and refused (TLS, the upgrade, no
    // welcome) is not asked again; one that cannot be reached is, while the time lasts.
    return failure == WebSocketClient::Failure::Handshake || !m_attemptError.isEmpty()
           || nowMs() - m_firstAttemptMs >= m_options.connectTimeoutMs;
}

void WeightClient::scheduleReconnect()
{
    if (++m_reconnectAttempt > m_options.maxReconnectAttempts) {
        failEverything(QStringLiteral("connection"),
                       QStringLiteral("cannot reach server %1 after %2 attempts: %3")
                           .arg(m_options.url.toDisplayString()).arg(m_options.maxReconnectAttempts)
                           .arg(!m_refusal.isEmpty() ? m_refusal : m_socket ? m_socket->errorString() : QString()));
        return;
    }
    setState(ConnectionState::Reconnecting);
    const qint64 base = qMin<qint64>(m_options.maxBackoffMs,
                                      qint64(m_options.initialBackoffMs) << qMin(m_reconnectAttempt - 1, 20));
    // Jitter keeps many clients from reconnecting in lockstep.
    const qint64 delay = base / 2 + QRandomGenerator::global()->bounded(base / 2 + 1);
    if (!m_everWelcomed && nowMs() + delay - m_firstAttemptMs >= m_options.connectTimeoutMs) {
        failEverything(QStringLiteral("connection"), QStringLiteral("%1 (tried for %2 s)")
                                                         .arg(!m_refusal.isEmpty() ? m_refusal : m_socket ? m_socket->errorString() : m_options.url.toDisplayString())
                                                         .arg(m_options.connectTimeoutMs / 1000.0));
        return;
    }
    qCDebug(lcClient) << "reconnect attempt" << m_reconnectAttempt << "in" << delay << "ms";
    QTimer::singleShot(int(delay), this, [this] {
        if (!m_closing && m_state == ConnectionState::Reconnecting)
            connectSocket();
    });
}

void WeightClient::requeueInFlight()
{
    // Requests that were sent are sent again on the next connection, in their original order,
    // from their first byte: the protocol has no resume-from-offset.
    std::vector<quint32> resend;
    for (Pending *p : std::as_const(m_pending)) {
        if (p->sent) {
            p->unsend();
            if (p->cancelled)
                continue;
            resend.push_back(p->id);
        }
    }
    for (auto it = m_pending.begin(); it != m_pending.end();) {
        if ((*it)->cancelled) {
            delete *it;
            it = m_pending.erase(it);
        } else {
            ++it;
        }
    }
    std::sort(resend.begin(), resend.end());
    m_retries.fetchAndAddRelaxed(qint64(resend.size()));
    m_queue.insert(m_queue.begin(), resend.begin(), resend.end());
    m_inFlight = 0;
}

void WeightClient::failEverything(const QString &code, const QString &message)
{
    m_closing = true;
    if (m_socket)
        m_socket->abort();
    setState(ConnectionState::Disconnected);
    Q_EMIT errorOccurred(message);
    const QList<quint32> ids = m_pending.keys();
    for (quint32 id : ids)
        fail(id, code, message);
    m_queue.clear();
}

void WeightClient::onTick()
{
    const qint64 now = nowMs();
    // Connecting, TLS and the upgrade are bounded by the socket itself; this is the welcome.
    if ((m_state == ConnectionState::Connecting || m_state == ConnectionState::Reconnecting) && m_socket
        && m_socket->state() == QAbstractSocket::ConnectedState && !m_welcomed
        && now - m_connectStartedMs > m_options.connectTimeoutMs) {
        // abort() of a socket that never connected emits nothing: count the attempt here.
        m_attemptError = QStringLiteral("%1 did not answer the protocol's hello within %2 s")
                             .arg(m_options.url.toDisplayString()).arg(m_options.connectTimeoutMs / 1000.0);
        m_socketEnded = true;
        m_socket->abort();
        onDisconnected();
        return;
    }
    if (m_state != ConnectionState::Ready || dropSilentPeer(now))
        return;
    QList<quint32> expired;
    for (Pending *p : std::as_const(m_pending)) {
        // A server sends a connection's gets one after the other (docs/protocol.md, "Sending"):
        // a get waiting behind another is making progress as long as that one is.
        const qint64 progress = qMax(p->lastProgressMs, m_lastPieceMs);
        if (p->sent && !p->cancelled && now - progress > m_options.requestTimeoutMs)
            expired.append(p->id);
    }
    for (quint32 id : expired) {
        Pending *p = m_pending.value(id);
        const QString what = QStringLiteral("%1 (%2 of %3 pieces)").arg(describe(*p)).arg(p->nextPiece)
                                 .arg(p->headerSeen ? QString::number(p->header.pieces) : QStringLiteral("?"));
        abandon(id, QStringLiteral("timeout"), QStringLiteral("%1: no progress for %2 ms; the server is too slow or stuck")
                                                    .arg(what).arg(m_options.requestTimeoutMs));
    }
    pump();
}

bool WeightClient::dropSilentPeer(qint64 now)
{
    if (m_options.peerTimeoutMs <= 0 || m_inFlight == 0 || !m_socket || !m_welcomed) {
        m_pinged = false;
        return false;
    }
    const qint64 silentMs = qMin(m_socket->msSinceHeard(), now - m_awaitingSinceMs);
    if (silentMs < m_options.peerTimeoutMs / 2) {
        m_pinged = false;
        return false;
    }
    if (silentMs < m_options.peerTimeoutMs) {
        if (!std::exchange(m_pinged, true))
            m_socket->ping();
        return false;
    }
    m_attemptError = QStringLiteral("%1 sent nothing for %2 s while %3 requests waited on it, nor answered a ping")
                         .arg(m_options.url.toDisplayString()).arg(silentMs / 1000.0).arg(m_inFlight);
    m_socketEnded = true;
    m_socket->abort();
    onDisconnected();
    return true;
}

} // namespace surfing
