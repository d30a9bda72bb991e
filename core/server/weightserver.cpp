#include "server/weightserver.h"
#include "protocol/transfermemory.h"

#include "base/error.h"
#include "server/clientsession.h"

#include <QEventLoop>
#include <QFile>
#include <QFutureWatcher>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QPromise>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QSslKey>
#include <QSslServer>
#include <QSslSocket>
#include <QTcpServer>
#include <QWebSocket>
#include <QWebSocketServer>
#include <utility>

Q_LOGGING_CATEGORY(lcServer, "surfing.server")

namespace surfing {

namespace {

// "Try again later" in the private range: Qt clients reject the registered 1013 as a protocol error.
constexpr int kCloseTryAgainLater = 4013;

// Waits for a future while running the event loop, so storages that answer through it (S3
// over QNetworkAccessManager) can make progress. Rethrows the future's exception.
template <typename T>
T waitWithEventLoop(QFuture<T> future)
{
    if (!future.isFinished()) {
        QFutureWatcher<T> watcher;
        QEventLoop loop;
        QObject::connect(&watcher, &QFutureWatcher<T>::finished, &loop, &QEventLoop::quit);
        watcher.setFuture(future);
        if (!future.isFinished())
            loop.exec();
    }
    if (future.resultCount() == 0) {
        future.waitForFinished();
        throw Error(QStringLiteral("the storage gave no answer"));
    }
    return future.result();
}

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
      m_bandwidth(options.limitMbps * 125000.0, qMax<double>(options.maxPieceBytes, options.limitMbps * 125000.0 / 20))
{
    protocol::keepTransferMemoryResident();
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
    QByteArray json;
    try {
        json = waitWithEventLoop(storage->read(QLatin1String(kManifestFileName)));
    } catch (const std::exception &e) {
        throw Error(QStringLiteral("%1: cannot read the manifest (is this a chunk directory made by 'surfing-cli chunk'?): %2")
                        .arg(where, QString::fromUtf8(e.what())));
    }
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
    delete m_server;
    delete m_listener;
    m_tls = tls;
    m_server = new QWebSocketServer(QStringLiteral("surfing/%1").arg(QLatin1String(SURFING_VERSION)),
                                    QWebSocketServer::NonSecureMode, this);
    m_listener = tls ? new QSslServer(this) : new QTcpServer(this);
    if (tls)
        configureTls(m_listener);
    if (!m_listener->listen(m_options.host, m_options.port))
        throw Error(QStringLiteral("cannot listen on %1:%2: %3 (is another server using the port? try --port)")
                        .arg(m_options.host.toString()).arg(m_options.port).arg(m_listener->errorString()));
    // With TLS, a connection becomes pending once its handshake is done.
    connect(m_listener, &QTcpServer::pendingConnectionAvailable, this, &WeightServer::onNewTcpConnection);
    connect(m_listener, &QTcpServer::acceptError, this, [this](QAbstractSocket::SocketError) {
        qCWarning(lcServer) << "accept failed:" << m_listener->errorString();
    });
    connect(m_server, &QWebSocketServer::newConnection, this, &WeightServer::onNewConnection);
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

void WeightServer::onNewTcpConnection()
{
    while (QTcpSocket *tcp = m_listener->nextPendingConnection()) {
        // Without it the last partial segment of every chunk waits for the client's delayed ACK.
        tcp->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        m_wires.removeIf([](const auto &wire) { return wire.value().isNull(); }); // never upgraded
        m_wires.insert(peerKey(tcp->peerAddress(), tcp->peerPort()), tcp);
        m_server->handleConnection(tcp);
    }
}

QTcpSocket *WeightServer::takeWire(const QWebSocket *socket)
{
    return m_wires.take(peerKey(socket->peerAddress(), socket->peerPort())).data();
}

void WeightServer::onNewConnection()
{
    while (QWebSocket *socket = m_server->nextPendingConnection()) {
        if (m_options.maxConnections > 0 && m_sessions.size() >= m_options.maxConnections) {
            m_metrics.recordConnectionRejected();
            qCWarning(lcServer) << "refused" << socket->peerAddress().toString() << ": at the limit of" << m_options.maxConnections << "connections";
            connect(socket, &QWebSocket::disconnected, socket, &QObject::deleteLater);
            socket->close(QWebSocketProtocol::CloseCode(kCloseTryAgainLater),
                          QStringLiteral("server is at its limit of %1 connections").arg(m_options.maxConnections));
            continue;
        }
        auto *session = new ClientSession(socket, takeWire(socket), this);
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

ServerStats WeightServer::stats() const
{
    return m_metrics.stats(m_cache.stats());
}

QByteArray WeightServer::prometheusText() const
{
    return m_metrics.prometheusText(m_cache.stats());
}

QFuture<QJsonObject> WeightServer::checkHealth()
{
    struct State {
        QPromise<QJsonObject> promise;
        QJsonArray models;
        int pending = 0;
        bool allOk = true;
    };
    auto state = std::make_shared<State>();
    state->promise.start();
    const bool accepting = isListening() && (m_options.maxConnections <= 0 || m_sessions.size() < m_options.maxConnections);
    auto finish = [state, accepting, open = m_sessions.size(), max = m_options.maxConnections] {
        const bool ok = state->allOk && accepting;
        state->promise.addResult(QJsonObject{{"status", ok ? "ok" : "unavailable"},
                                             {"accepting", accepting},
                                             {"connections", double(open)},
                                             {"max_connections", max},
                                             {"models", state->models}});
        state->promise.finish();
    };
    state->pending = int(m_models.size());
    QFuture<QJsonObject> result = state->promise.future();
    if (state->pending == 0) {
        finish();
        return result;
    }
    for (const ServedModel &m : std::as_const(m_models)) {
        m.storage->checkHealth().then(this, [state, finish, name = m.name, location = m.storage->location()](QFuture<bool> f) {
            bool ok = false;
            try {
                ok = f.resultCount() > 0 && f.result();
            } catch (const std::exception &e) {
                qCWarning(lcServer) << "health check of" << location << "failed:" << e.what();
            }
            state->allOk = state->allOk && ok;
            state->models.append(QJsonObject{{"name", name}, {"location", location}, {"storage", ok ? "ok" : "unreachable"}});
            if (--state->pending == 0)
                finish();
        });
    }
    return result;
}

} // namespace surfing
