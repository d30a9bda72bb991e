#include "server/weightserver.h"
#include "protocol/transfermemory.h"

#include "base/error.h"
#include "server/clientsession.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QSocketNotifier>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QSslKey>
#include <QSslServer>
#include <QSslSocket>
#include <QTcpServer>
#include <QWebSocket>
#include <QWebSocketServer>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <fcntl.h>
#include <unistd.h>
#include <utility>

Q_LOGGING_CATEGORY(lcServer, "surfing.server")

namespace surfing {

namespace {

// Connections over --max-connections that are still upgraded, to be told so with 4013; past
// these they are closed as soon as accepted.
constexpr int kMaxRefusing = 16;
// After accept() failed for want of descriptors, accepting pauses this long, doubling up to
// kMaxAcceptBackoffMs while it goes on failing; new connections wait in the kernel's backlog.
constexpr int kFirstAcceptBackoffMs = 100;
constexpr int kMaxAcceptBackoffMs = 2000;
const char kHandshakeTimerName[] = "surfingHandshakeDeadline";
// A refused connection whose client takes nothing more is dropped after this.
constexpr int kCloseGraceMs = 5000;

// A QSslServer that says when it accepts a connection: its own signal comes only once the
// client's hello arrives, and a connection that never sends one must count and time out too.
class AcceptingSslServer : public QSslServer
{
public:
    AcceptingSslServer(std::function<void(QTcpSocket *)> accepted, QObject *parent)
        : QSslServer(parent), m_accepted(std::move(accepted)) {}

protected:
    void incomingConnection(qintptr descriptor) override
    {
        QSslServer::incomingConnection(descriptor);
        for (QSslSocket *socket : findChildren<QSslSocket *>(Qt::FindDirectChildrenOnly))
            if (socket->socketDescriptor() == descriptor)
                return m_accepted(socket);
    }

private:
    std::function<void(QTcpSocket *)> m_accepted;
};

QString peerKey(const QHostAddress &address, quint16 port)
{
    return address.toString() + QLatin1Char(' ') + QString::number(port);
}

QByteArray readPem(const QString &path, const char *what)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        throw Error(QStringLiteral("%1: cannot read the TLS %2: %3").arg(path, QLatin1String(what), file.errorString()));
    return file.readAll();
}

} // namespace

WeightServer::WeightServer(const WeightServerOptions &options, QObject *parent)
    : QObject(parent), m_options(options), m_cache(options.cacheBytes),
      m_bandwidth(options.limitMbps * 125000.0, qMax<double>(options.maxPieceBytes, options.limitMbps * 125000.0 / 20)),
      m_sendBudget(options.effectiveServerSendBytes())
{
    protocol::keepTransferMemoryResident();
    connect(&m_sendBudget, &SendBudget::roomMade, this, [this] {
        const QSet<ClientSession *> sessions = m_sessions; // taking requests may close one
        for (ClientSession *session : sessions)
            if (m_sessions.contains(session))
                session->takeHeldRequests();
    });
    m_acceptBackoff.setSingleShot(true);
    m_acceptBackoff.setInterval(kFirstAcceptBackoffMs);
    connect(&m_acceptBackoff, &QTimer::timeout, this, [this] {
        if (m_listener && m_listener->isListening()) {
            m_listener->resumeAccepting();
            m_acceptWatch->setEnabled(true);
        }
    });
    m_storageMonitor.setTiming(options.storageCheckIntervalMs, options.storageCheckTimeoutMs);
    m_statsTimer.setSingleShot(true);
    m_statsTimer.setInterval(250);
    connect(&m_statsTimer, &QTimer::timeout, this, &WeightServer::statsChanged);
}

WeightServer::~WeightServer()
{
    close();
    const QSet<ClientSession *> sessions = std::exchange(m_sessions, {});
    for (ClientSession *session : sessions)
        session->disconnect(this);
    qDeleteAll(sessions);
}

void WeightServer::addModel(std::shared_ptr<ChunkStorage> storage)
{
    const QString where = storage->location() + QLatin1Char('/') + QLatin1String(kManifestFileName);
    const ReadResult read = readAndWait(*storage, QLatin1String(kManifestFileName));
    if (!read.ok())
        throw Error(QStringLiteral("%1: cannot read the manifest (is this a chunk directory made by 'surfing-cli chunk'?): %2")
                        .arg(where, read.error));
    const QByteArray json = read.bytes;
    ServedModel model;
    model.manifest = ChunkManifest::fromJson(json, where);
    model.manifestJson = QJsonDocument::fromJson(json).object();
    model.name = model.manifest.modelName;
    model.storage = std::move(storage);
    if (!protocol::isValidModelName(model.name))
        throw Error(QStringLiteral("%1: model_name '%2' cannot be served (1..255 printable characters)").arg(where, model.name.left(80)));
    if (m_models.contains(model.name))
        throw Error(QStringLiteral("%1: a model named '%2' is already served from %3; each model needs its own model_name")
                        .arg(where, model.name, m_models.value(model.name).storage->location()));
    if (m_defaultModel.isEmpty())
        m_defaultModel = model.name;
    qCInfo(lcServer) << "serving" << model.name << "from" << model.storage->location() << model.manifest.chunks.size() << "chunks";
    m_storageMonitor.addStorage(model.name, model.storage);
    m_models.insert(model.name, std::move(model));
}

QStringList WeightServer::modelNames() const
{
    return m_models.keys();
}

const ServedModel *WeightServer::model(const QString &name) const
{
    auto it = m_models.constFind(name);
    return it == m_models.cend() ? nullptr : &it.value();
}

void WeightServer::configureTls(QTcpServer *listener)
{
    const QByteArray certPem = readPem(m_options.tlsCertFile, "certificate");
    const QByteArray keyPem = readPem(m_options.tlsKeyFile, "key");
    const QList<QSslCertificate> chain = QSslCertificate::fromData(certPem, QSsl::Pem);
    if (chain.isEmpty())
        throw Error(QStringLiteral("%1: no PEM certificate in it").arg(m_options.tlsCertFile));
    QSslKey key(keyPem, QSsl::Rsa, QSsl::Pem);
    if (key.isNull())
        key = QSslKey(keyPem, QSsl::Ec, QSsl::Pem);
    if (key.isNull())
        throw Error(QStringLiteral("%1: no unencrypted PEM RSA or EC private key in it").arg(m_options.tlsKeyFile));
    QSslConfiguration config = QSslConfiguration::defaultConfiguration();
    config.setLocalCertificate(chain.first());
    config.setLocalCertificateChain(chain);
    config.setPrivateKey(key);
    config.setPeerVerifyMode(QSslSocket::VerifyNone);
    auto *ssl = static_cast<QSslServer *>(listener);
    ssl->setSslConfiguration(config);
    connect(ssl, &QSslServer::sslErrors, this, [](QSslSocket *, const QList<QSslError> &errors) {
        for (const QSslError &e : errors)
            qCWarning(lcServer) << "TLS:" << e.errorString();
    });
}

void WeightServer::listen()
{
    if (m_models.isEmpty())
        throw Error(QStringLiteral("no models to serve: give at least one chunk directory"));
    const bool tls = !m_options.tlsCertFile.isEmpty() || !m_options.tlsKeyFile.isEmpty();
    if (tls && (m_options.tlsCertFile.isEmpty() || m_options.tlsKeyFile.isEmpty()))
        throw Error(QStringLiteral("TLS needs both --tls-cert and --tls-key"));
    delete m_acceptWatch;
    m_acceptWatch = nullptr;
    delete m_server;
    delete m_listener;
    m_tls = tls;
    m_server = new QWebSocketServer(QStringLiteral("surfing/%1").arg(QLatin1String(SURFING_VERSION)),
                                    QWebSocketServer::NonSecureMode, this);
    m_listener = tls ? new AcceptingSslServer([this](QTcpSocket *socket) { onTlsAccepted(socket); }, this) : new QTcpServer(this);
    if (tls)
        configureTls(m_listener);
    if (!m_listener->listen(m_options.host, m_options.port))
        throw Error(QStringLiteral("cannot listen on %1:%2: %3 (is another server using the port? try --port)")
                        .arg(m_options.host.toString()).arg(m_options.port).arg(m_listener->errorString()));
    // With TLS, a connection becomes pending once its handshake is done.
    connect(m_listener, &QTcpServer::pendingConnectionAvailable, this, &WeightServer::onNewTcpConnection);
    connect(m_listener, &QTcpServer::acceptError, this, &WeightServer::onAcceptError);
    m_acceptWatch = new QSocketNotifier(m_listener->socketDescriptor(), QSocketNotifier::Read, this);
    connect(m_acceptWatch, &QSocketNotifier::activated, this, &WeightServer::onListenerReadable);
    if (tls) {
        auto *ssl = static_cast<QSslServer *>(m_listener);
        if (m_options.handshakeTimeoutSeconds > 0)
            ssl->setHandshakeTimeout(m_options.handshakeTimeoutSeconds * 1000);
        // Connections in their TLS handshake count as pending for QTcpServer, which stops
        // accepting past this; our own count (trackHandshake) is the limit that matters.
        ssl->setMaxPendingConnections(qMax(30, m_options.maxConnections + kMaxRefusing));
    }
    connect(m_server, &QWebSocketServer::newConnection, this, &WeightServer::onNewConnection);
    m_storageMonitor.start();
    qCInfo(lcServer) << "listening on" << url().toString();
}

void WeightServer::close()
{
    if (m_listener)
        m_listener->close();
}

bool WeightServer::isListening() const
{
    return m_listener && m_listener->isListening();
}

quint16 WeightServer::port() const
{
    return m_listener ? m_listener->serverPort() : 0;
}

QUrl WeightServer::url() const
{
    QUrl u;
    u.setScheme(m_tls ? QStringLiteral("wss") : QStringLiteral("ws"));
    const QHostAddress host = m_listener ? m_listener->serverAddress() : m_options.host;
    u.setHost(host == QHostAddress::Any || host == QHostAddress::AnyIPv4 ? QStringLiteral("127.0.0.1") : host.toString());
    u.setPort(port());
    return u;
}

void WeightServer::onAcceptError()
{
    // QTcpServer has paused accepting, for good unless resumed.
    pauseAccepting(m_listener->errorString());
}

// QTcpServer reports a failed accept() only if it is the first error its socket engine meets
// (the engine keeps one error for good); once an accept() has found the queue empty (EAGAIN), an
// EMFILE goes unreported and QTcpServer retries at once, for ever: a busy loop while clients
// wait. This notifier sees the listener readable as QTcpServer does and checks that a
// descriptor is free.
void WeightServer::onListenerReadable()
{
    const int probe = ::fcntl(int(m_listener->socketDescriptor()), F_DUPFD_CLOEXEC, 0);
    if (probe >= 0) {
        ::close(probe);
        return;
    }
    if (errno == EMFILE || errno == ENFILE)
        pauseAccepting(QString::fromLocal8Bit(::strerror(errno)));
}

// Out of descriptors: stop accepting and try again after a back-off (doubling while it lasts),
// so neither does the server stop taking clients once descriptors free up, nor does it spin.
// Connections wait in the kernel's backlog meanwhile.
void WeightServer::pauseAccepting(const QString &why)
{
    m_listener->pauseAccepting();
    m_acceptWatch->setEnabled(false);
    if (!m_acceptFailing)
        qCWarning(lcServer) << "accept failed:" << why << "- new connections wait while" << m_sessions.size()
                            << "sessions and" << handshakesUnderWay() << "handshakes are open; retrying";
    else
        m_acceptBackoff.setInterval(qMin(kMaxAcceptBackoffMs, m_acceptBackoff.interval() * 2));
    m_acceptFailing = true;
    m_acceptBackoff.start();
}

int WeightServer::handshakesUnderWay() const
{
    m_handshakes.removeIf([](const auto &h) { return h.value().wire.isNull(); }); // closed before upgrading
    return int(m_handshakes.size());
}

void WeightServer::onTlsAccepted(QTcpSocket *socket)
{
    trackHandshake(socket);
}

// Counts a new connection against --max-connections and gives it the handshake timeout. False
// when it was closed at once (too many over the limit already).
bool WeightServer::trackHandshake(QTcpSocket *socket)
{
    const QString key = peerKey(socket->peerAddress(), socket->peerPort());
    if (m_handshakes.contains(key)) // TLS: tracked since it was accepted
        return true;
    Handshake handshake;
    handshake.wire = socket;
    const int open = int(m_sessions.size()) + handshakesUnderWay();
    if (m_options.maxConnections > 0 && open >= m_options.maxConnections) {
        const auto refusing = std::count_if(m_handshakes.cbegin(), m_handshakes.cend(), [](const Handshake &h) { return h.refuse; });
        if (refusing >= kMaxRefusing) {
            m_metrics.recordConnectionRejected();
            qCDebug(lcServer) << "closed" << key << "at once:" << open << "connections open or on their way";
            socket->abort();
            return false;
        }
        handshake.refuse = true;
    }
    if (m_options.handshakeTimeoutSeconds > 0) {
        const int timeoutMs = m_options.handshakeTimeoutSeconds * 1000;
        handshake.deadline = QDeadlineTimer(timeoutMs);
        auto *timer = new QTimer(socket);
        timer->setObjectName(QLatin1String(kHandshakeTimerName));
        timer->setSingleShot(true);
        connect(timer, &QTimer::timeout, socket, [socket, key] {
            qCDebug(lcServer) << "closed" << key << ": handshake not done in time";
            socket->abort();
        });
        timer->start(timeoutMs);
    }
    m_handshakes.insert(key, handshake);
    return true;
}

void WeightServer::onNewTcpConnection()
{
    while (QTcpSocket *tcp = m_listener->nextPendingConnection()) {
        if (std::exchange(m_acceptFailing, false)) {
            m_acceptBackoff.setInterval(kFirstAcceptBackoffMs);
            qCInfo(lcServer) << "accepting connections again";
        }
        // Without it the last partial segment of every chunk waits for the client's delayed ACK.
        tcp->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        if (trackHandshake(tcp))
            m_server->handleConnection(tcp);
    }
}

WeightServer::Handshake WeightServer::takeHandshake(const QWebSocket *socket)
{
    Handshake handshake = m_handshakes.take(peerKey(socket->peerAddress(), socket->peerPort()));
    if (handshake.wire)
        delete handshake.wire->findChild<QTimer *>(QLatin1String(kHandshakeTimerName), Qt::FindDirectChildrenOnly);
    return handshake;
}

void WeightServer::onNewConnection()
{
    while (QWebSocket *socket = m_server->nextPendingConnection()) {
        const Handshake handshake = takeHandshake(socket);
        if (handshake.refuse || (m_options.maxConnections > 0 && m_sessions.size() >= m_options.maxConnections)) {
            m_metrics.recordConnectionRejected();
            qCWarning(lcServer) << "refused" << socket->peerAddress().toString() << ": at the limit of" << m_options.maxConnections << "connections";
            connect(socket, &QWebSocket::disconnected, socket, &QObject::deleteLater);
            socket->close(QWebSocketProtocol::CloseCode(kCloseTryAgainLater),
                          QStringLiteral("server is at its limit of %1 connections").arg(m_options.maxConnections));
            QTimer::singleShot(kCloseGraceMs, socket, [socket] { socket->abort(); });
            continue;
        }
        const qint64 helloDeadlineMs = handshake.deadline.isForever() ? -1 : handshake.deadline.remainingTime();
        auto *session = new ClientSession(socket, handshake.wire.data(), this, helloDeadlineMs);
        m_sessions.insert(session);
        connect(session, &ClientSession::closed, this, &WeightServer::onSessionClosed);
        m_metrics.recordConnectionOpened();
        Q_EMIT clientConnected(session->peer());
        noteActivity();
    }
}

void WeightServer::onSessionClosed(ClientSession *session)
{
    if (!m_sessions.remove(session))
        return;
    m_metrics.recordConnectionClosed();
    Q_EMIT clientDisconnected(session->peer());
    noteActivity();
    session->deleteLater();
}

void WeightServer::noteServed(const QString &model, const QString &chunk, qint64 bytes, double seconds, bool cacheHit)
{
    m_metrics.recordChunkServed(seconds);
    Q_EMIT requestServed(model, chunk, bytes, seconds, cacheHit);
    noteActivity();
}

void WeightServer::noteError(protocol::ErrorCode code, const QString &message)
{
    m_metrics.recordError(code);
    Q_EMIT requestFailed(protocol::errorCodeName(code), message);
    noteActivity();
}

void WeightServer::noteActivity()
{
    if (!m_statsTimer.isActive())
        m_statsTimer.start();
}

qint64 WeightServer::authWaitMs(const QHostAddress &peer)
{
    return m_authThrottle.waitMs(peer, TokenBucket::steadyNowMs());
}

void WeightServer::noteAuthFailure(const QHostAddress &peer)
{
    m_authThrottle.recordFailure(peer, TokenBucket::steadyNowMs());
    m_metrics.recordAuthFailure();
    qCWarning(lcServer).noquote() << "failed authentication from" << peer.toString();
}

void WeightServer::noteAuthSuccess(const QHostAddress &peer)
{
    m_authThrottle.recordSuccess(peer);
}

ServerStats WeightServer::stats() const
{
    return m_metrics.stats(m_cache.stats());
}

QByteArray WeightServer::prometheusText() const
{
    return m_metrics.prometheusText(m_cache.stats());
}

void WeightServer::checkHealth(HealthReport done)
{
    const bool accepting = isListening() && (m_options.maxConnections <= 0 || m_sessions.size() < m_options.maxConnections);
    bool allOk = accepting;
    QJsonArray models;
    for (const ServedModel &m : std::as_const(m_models)) {
        // The location (a path on this machine, or a bucket) stays in the log: /healthz is
        // unauthenticated.
        const HealthResult health = m_storageMonitor.health(m.name);
        QJsonObject model{{"name", m.name}, {"storage", health.ok ? "ok" : "unreachable"}};
        if (!health.ok)
            model.insert(QLatin1String("reason"), health.reason);
        models.append(model);
        allOk = allOk && health.ok;
    }
    done(QJsonObject{{"status", allOk ? "ok" : "unavailable"},
                     {"accepting", accepting},
                     {"connections", double(m_sessions.size())},
                     {"max_connections", m_options.maxConnections},
                     {"models", models}});
}

} // namespace surfing
