// One client connection of a WeightServer: the hello/auth handshake, request dispatch, rate
// limits, the idle timeout and error replies. Chunk bytes go out through its ChunkSender.
#pragma once

#include "protocol/messages.h"
#include "server/tokenbucket.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QTimer>
#include <optional>

class QTcpSocket;
class QWebSocket;

namespace surfing {

class ChunkSender;
class WeightServer;
struct ManifestChunk;
struct ServedModel;

class ClientSession : public QObject
{
    Q_OBJECT
public:
    // Takes ownership of `socket`. `wire` (may be null): the connection under it, for chunk pieces.
    ClientSession(QWebSocket *socket, QTcpSocket *wire, WeightServer *server);
    ~ClientSession() override;

    QString peer() const { return m_peer; }

Q_SIGNALS:
    void closed(ClientSession *session);

private:
    struct PendingGet {
        QString model;
        QString chunk;
        bool cacheHit = false;
        QElapsedTimer started;
        bool sending = false;
    };

    void onText(const QString &text);
    void onBinary(const QByteArray &message);
    void onIdleTimeout();
    void handleHello(const protocol::Hello &hello);
    void handleRequest(const protocol::Request &request);
    void handleGet(const protocol::Request &request, const ServedModel &model);
    void handleCancel(const protocol::Request &request);
    void onChunkLoaded(quint32 id, ManifestChunk chunk, const QByteArray &bytes);
    std::optional<ManifestChunk> findTarget(const protocol::Request &request, const ServedModel &model);
    static constexpr qint64 kSizeFromStorage = -1;
    void onTransferFinished(quint32 id);
    const ServedModel *resolveModel(const protocol::Request &request);
    bool admitRequest(const protocol::Request &request);
    void sendText(const QByteArray &json);
    void sendError(protocol::ErrorCode code, const QString &message, quint32 id = 0, qint64 retryAfterMs = -1);
    void closeWith(int closeCode, const QString &reason);

    QWebSocket *m_socket;
    WeightServer *m_server;
    ChunkSender *m_sender;
    QString m_peer;
    QString m_pathModel;  // from the URL path
    QString m_model;      // the connection's default model after hello
    bool m_welcomed = false;
    bool m_closing = false;
    QHash<quint32, PendingGet> m_gets; // loading or sending
    TokenBucket m_requestBucket;
    TokenBucket m_byteBucket;
    QTimer m_idleTimer;
};

} // namespace surfing
