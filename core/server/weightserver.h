// The weight server: serves the chunk directories (models) it was given over WebSocket, as
// docs/protocol.md specifies, with a shared byte-budgeted cache, optional token and TLS,
// connection and rate limits, and the figures for /metrics and the GUI.
#pragma once

#include "cache/servercache.h"
#include "metrics/servermetrics.h"
#include "server/auththrottle.h"
#include "server/sendbudget.h"
#include "server/storagemonitor.h"
#include "server/servedmodel.h"
#include "server/tokenbucket.h"
#include "server/weightserveroptions.h"

#include <QDeadlineTimer>
#include <QJsonObject>
#include <QMap>
#include <QObject>
#include <QPointer>
#include <QSet>
#include <QTimer>
#include <QUrl>
#include <memory>

class QSocketNotifier;
class QTcpServer;
class QTcpSocket;
class QWebSocket;
class QWebSocketServer;

namespace surfing {

class ClientSession;

// Close code "try again later" in the private range (Qt clients reject the registered 1013 as a
// protocol error): over --max-connections, or the storage is failing.
inline constexpr int kCloseTryAgainLater = 4013;

class WeightServer : public QObject
{
    Q_OBJECT
public:
    explicit WeightServer(const WeightServerOptions &options, QObject *parent = nullptr);
    ~WeightServer() override;

    // Reads the storage's manifest and serves it under its model_name (the first model added
    // is the default). Runs a local event loop while the storage answers. Throws surfing::Error
    // naming the location when the manifest is missing or invalid, or the name is taken.
    void addModel(std::shared_ptr<ChunkStorage> storage);
    QStringList modelNames() const;

    // Starts accepting connections; throws surfing::Error (port in use, unreadable cert/key).
    void listen();
    void close();
    bool isListening() const;
    quint16 port() const;
    QUrl url() const; // ws://127.0.0.1:8765 or wss://...

    const WeightServerOptions &options() const { return m_options; }
    ServerStats stats() const;
    QByteArray prometheusText() const;
    // Calls `done` once with {"status":"ok"|"unavailable","accepting":..,"connections":..,
    // "max_connections":..,"models":[{name,storage[,reason]}]}, from the storage monitor's latest
    // probes (it never waits for storage). Names no path or bucket: it is served
    // unauthenticated on /healthz.
    using HealthReport = Callback<QJsonObject>;
    void checkHealth(HealthReport done);

    // For ClientSession.
    const ServedModel *model(const QString &name) const;
    QString defaultModel() const { return m_defaultModel; }
    ServerCache &cache() { return m_cache; }
    // Whether every storage answered its latest probe; while not, new sessions are refused.
    bool storageHealthy() const { return m_storageMonitor.isHealthy(); }
    QString storageProblem() const { return m_storageMonitor.reason(); }
    int storageCheckIntervalMs() const { return m_storageMonitor.intervalMs(); }
    void noteStorageFailure() { m_storageMonitor.probeSoon(); }
    void noteStorageAnswered(const QString &model) { m_storageMonitor.noteAnswered(model); }
    ServerMetrics &metrics() { return m_metrics; }
    TokenBucket *bandwidth() { return &m_bandwidth; }
    SendBudget &sendBudget() { return m_sendBudget; }
    // Connections accepted (or in their TLS handshake) that are not sessions yet.
    int handshakesUnderWay() const;
    void noteServed(const QString &model, const QString &chunk, qint64 bytes, double seconds, bool cacheHit);
    void noteError(protocol::ErrorCode code, const QString &message);
    void noteActivity();
    // Token checks: how long `peer` must wait before its next hello may be checked (0: now).
    qint64 authWaitMs(const QHostAddress &peer);
    void noteAuthFailure(const QHostAddress &peer);
    void noteAuthSuccess(const QHostAddress &peer);

Q_SIGNALS:
    void clientConnected(const QString &peer);
    void clientDisconnected(const QString &peer);
    void requestServed(const QString &model, const QString &chunk, qint64 bytes, double seconds, bool cacheHit);
    void requestFailed(const QString &code, const QString &message);
    void statsChanged(); // at most every 250 ms while something happens

private:
    // A connection on its way to a session: TLS, the WebSocket upgrade, then the hello.
    struct Handshake {
        QPointer<QTcpSocket> wire;
        QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever);
        bool refuse = false; // over --max-connections: upgraded only to be told so (4013)
    };

    void onTlsAccepted(QTcpSocket *socket);
    bool trackHandshake(QTcpSocket *socket);
    void onAcceptError();
    void onListenerReadable();
    void pauseAccepting(const QString &why);
    void onNewTcpConnection();
    void onNewConnection();
    void onSessionClosed(ClientSession *session);
    Handshake takeHandshake(const QWebSocket *socket);
    void configureTls(QTcpServer *listener);

    WeightServerOptions m_options;
    // Declared before the models: storages finish their reads (which land in the cache)
    // before the cache goes.
    ServerCache m_cache;
    ServerMetrics m_metrics;
    TokenBucket m_bandwidth;
    SendBudget m_sendBudget;
    AuthThrottle m_authThrottle;
    QMap<QString, ServedModel> m_models;
    StorageMonitor m_storageMonitor;
    QString m_defaultModel;
    // We accept TCP (or TLS) connections ourselves and hand them to m_server for the upgrade, so
    // each session knows its socket and can write chunk pieces as WebSocket frames directly
    // (QWebSocket::sendBinaryMessage copies every message twice more; see ChunkSender).
    QTcpServer *m_listener = nullptr;
    QWebSocketServer *m_server = nullptr;
    mutable QHash<QString, Handshake> m_handshakes; // by peer address:port, until upgraded
    QSocketNotifier *m_acceptWatch = nullptr; // sees the listener readable, as QTcpServer does
    QTimer m_acceptBackoff;  // accepting paused after the process ran out of descriptors
    bool m_acceptFailing = false;
    bool m_tls = false;
    QSet<ClientSession *> m_sessions;
    QTimer m_statsTimer;
};

} // namespace surfing
