// One client connection of a WeightServer: the hello/auth handshake, request dispatch, rate
// limits, the idle timeout and error replies. Chunk bytes go out through its ChunkSender.
// Requests are read by a ClientFrameReader and held back while the connection's unsent replies
// or the chunks it holds are over their bounds (docs/protocol.md, "Limits").
#pragma once

#include "protocol/messages.h"
#include "server/sendbudget.h"
#include "server/tokenbucket.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QPointer>
#include <QTimer>
#include <deque>
#include <memory>
#include <optional>

class QTcpSocket;
class QWebSocket;

namespace surfing {

class ChunkSender;
class ClientFrameReader;
class WeightServer;
struct ManifestChunk;
struct ReadResult;
struct ServedModel;

class ClientSession : public QObject
{
    Q_OBJECT
public:
    // Takes ownership of `socket`. `wire`: the connection under it, for reading requests and
    // writing chunk pieces (null closes the session at once). `helloDeadlineMs`: the hello must
    // be done within it (the rest of the handshake timeout); negative: no limit.
    ClientSession(QWebSocket *socket, QTcpSocket *wire, WeightServer *server, qint64 helloDeadlineMs = -1);
    ~ClientSession() override;

    QString peer() const { return m_peer; }
    // Takes requests held back for the server's send budget, if it has room now.
    void takeHeldRequests();

Q_SIGNALS:
    void closed(ClientSession *session);

private:
    struct PendingGet {
        QString model;
        QString chunk;
        bool cacheHit = false;
        QElapsedTimer started;
        bool sending = false;
        std::shared_ptr<SendBudget::Reservation> reservation; // the chunk's bytes, until it is sent
    };

    void onText(const QByteArray &utf8);
    void onBinary();
    void onPing(const QByteArray &payload);
    void onIdleTimeout();
    void restartIdleTimer();
    void onWriteProgress();
    void takeRequest(const protocol::Request &request);
    bool canTake(const protocol::Request &request) const;
    qint64 reservedBytes() const;
    bool hasUnsentOutput() const;
    void handleHello(const protocol::Hello &hello);
    bool checkToken(const protocol::Hello &hello);
    void handleRequest(const protocol::Request &request);
    void handleGet(const protocol::Request &request, const ServedModel &model);
    void handleCancel(const protocol::Request &request);
    void onChunkRead(quint32 id, const ManifestChunk &chunk, const ReadResult &result);
    void onChunkLoaded(quint32 id, ManifestChunk chunk, const QByteArray &bytes);
    std::optional<ManifestChunk> findTarget(const protocol::Request &request, const ServedModel &model);
    static constexpr qint64 kSizeFromStorage = -1;
    void onTransferFinished(quint32 id);
    const ServedModel *resolveModel(const protocol::Request &request);
    bool admitRequest(const protocol::Request &request);
    void sendText(const QByteArray &json);
    void sendError(protocol::ErrorCode code, const QString &message, quint32 id = 0, qint64 retryAfterMs = -1);
    void closeWith(int closeCode, const QString &reason);
    void abortWith(const QString &reason);

    QWebSocket *m_socket;
    QPointer<QTcpSocket> m_wire;
    WeightServer *m_server;
    ChunkSender *m_sender;
    ClientFrameReader *m_reader = nullptr;
    QString m_peer;
    QString m_pathModel;  // from the URL path
    QString m_model;      // the connection's default model after hello
    bool m_welcomed = false;
    bool m_closing = false;
    QHash<quint32, PendingGet> m_gets; // loading or sending
    TokenBucket m_requestBucket;
    TokenBucket m_byteBucket;
    QTimer m_idleTimer;
    QTimer m_helloTimer;
    QElapsedTimer m_lastWrite; // the client last took bytes
    std::deque<protocol::Request> m_held; // waiting for room, in order
    bool m_taking = false;
};

} // namespace surfing
