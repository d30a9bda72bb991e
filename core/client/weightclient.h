// A client of one model on a weight server (docs/protocol.md): connects (ws:// or wss://),
// says hello with the token, fetches the manifest, then fetches chunks with many requests in
// flight. Every chunk is checked against the SHA-256 the manifest names before its bytes are
// handed out (a re-fetch against the keyed tag of its first receipt, made piece by piece as it
// arrives: client/receiptverifier.h), and decoded on a thread pool, never on the network thread. When the connection
// drops it reconnects with exponential backoff and re-requests what was incomplete.
//
// Lives on a network thread (moveToThread before open()). fetchChunk(), fetchFile(), cancel()
// and the getters are thread-safe; signals are emitted on the network thread or, for results,
// on a pool thread (a re-fetched chunk whose keyed tag was made and matched as it arrived comes
// straight from the network thread).
#pragma once

#include "client/chunkarrival.h"
#include "format/chunkmanifest.h"

#include <QAtomicInteger>
#include <QByteArray>
#include <QHash>
#include <QMutex>
#include <QObject>
#include <QThreadPool>
#include <QUrl>
#include <deque>

class QTimer;

namespace surfing {

class WebSocketClient;
namespace protocol {
struct ServerMessage;
}

struct WeightClientOptions {
    QUrl url;                    // ws://127.0.0.1:8765[/MODEL] or wss://...
    QString model;               // empty: the URL path, else the server's default model
    QString token;
    QString caCertificateFile;   // wss: also trust the certificate(s) in this PEM file
    QString clientName = QStringLiteral("surfing-client");
    // A request fails when neither it nor any other request of the connection made progress
    // for this long (the server sends a connection's gets one after the other).
    int requestTimeoutMs = 30000;
    // One attempt to connect (TCP, TLS, WebSocket upgrade, welcome) fails after this long; the
    // first connection is tried again only within this time from the first attempt.
    int connectTimeoutMs = 10000;
    // Memory one chunk may take (chunkMemoryBytes()); a larger one fails without being asked
    // for. <= 0: systemMemoryBytes().
    qint64 maxChunkBytes = 0;
    int initialBackoffMs = 100;
    int maxBackoffMs = 5000;
    int maxReconnectAttempts = 12; // consecutive failed attempts before pending requests fail
    // "internal" server errors (its storage failed) retried per request, with backoff doubling
    // from initialBackoffMs up to maxBackoffMs: 6 ride over about 10 s of storage outage.
    int maxInternalRetries = 6;
    // A server that sends nothing for this long while requests wait on it, not even the answer
    // to a ping sent halfway, is taken for gone (a black-holed host, a frozen process): the
    // connection is dropped and opened again, and a ServerPool moves its requests at once. A
    // server that dies closes the connection, which is seen at once; this is for silence only.
    // <= 0: off.
    int peerTimeoutMs = 10000;
    // Where a re-fetched, uncompressed chunk's checked blocks are published while it arrives
    // (FetchingChunkSource::arrivalOf); unset: chunks are handed out whole only. Thread-safe.
    ArrivalLookup arrivals;
};

enum class ConnectionState { Disconnected, Connecting, Ready, Reconnecting };
QString connectionStateName(ConnectionState state);

class WeightClient : public QObject
{
    Q_OBJECT
public:
    explicit WeightClient(WeightClientOptions options, QObject *parent = nullptr);
    ~WeightClient() override;

    // Thread-safe. Returns the request id. `stored`: hand out the stored (still encoded, but
    // verified) bytes instead of decoded safetensors. Requests made before the manifest arrived
    // wait for it.
    quint32 fetchChunk(const QString &name, bool stored = false);
    // A file the manifest lists beside the chunks (config.json, tokenizer files).
    quint32 fetchFile(const QString &name);
    void cancel(quint32 id);

    bool hasManifest() const;
    ChunkManifest manifest() const;
    QByteArray manifestJson() const; // as the server sent it, indented
    QString modelName() const;
    ConnectionState state() const;
    int pendingRequests() const;
    // Requests sent again: after an "internal" or "rate_limited" answer, or on a new connection
    // after the last one dropped. Thread-safe.
    qint64 retries() const { return m_retries.loadRelaxed(); }
    // Sessions opened again after a connection that worked had dropped. Thread-safe.
    qint64 reconnects() const { return m_reconnects.loadRelaxed(); }

public Q_SLOTS:
    void open();
    void close();

Q_SIGNALS:
    void connectionStateChanged(surfing::ConnectionState state);
    void manifestReceived();
    // `data`: decoded safetensors bytes (or stored bytes when asked for); `received`: the
    // verified bytes as they arrived (the same as `data` unless the chunk was decoded). Times are
    // timelineClockNs(): when the request was first sent and when the bytes were ready.
    void chunkReceived(quint32 id, const QString &name, const QByteArray &data, qint64 storedBytes,
                       qint64 startNs, qint64 endNs, const QByteArray &received);
    void fileReceived(quint32 id, const QString &name, const QByteArray &data);
    // A request that will not complete: the message names the chunk (or file) and the model.
    // `code`: a protocol error code, or "hash_mismatch", "decode", "timeout", "connection",
    // "protocol", "memory" (it would not fit in this machine's memory).
    void requestFailed(quint32 id, const QString &name, const QString &code, const QString &message);
    // Something the user should see that is not tied to one request (lost connection, bad token).
    void errorOccurred(const QString &message);

public:
    enum class Kind { Manifest, Chunk, File };
    struct Pending; // weightclientpending.h

private:

    void connectSocket();
    void onConnected();
    void onDisconnected();
    void onText(const QByteArray &text);
    void onBinary(const QByteArray &message);
    // The transport's sink: where a piece's payload goes, and word that it is all there.
    char *pieceDestination(QByteArrayView pieceHeader, qint64 payloadBytes);
    void pieceDelivered(QByteArrayView pieceHeader, qint64 payloadBytes);
    QString pieceProblem(const Pending &p, quint32 index, qint64 payloadBytes) const;
    void pieceArrived(Pending &p, qint64 payloadBytes);
    void startBlockCheck(Pending &p);
    static char *writableEnd(Pending &p);
    void onTick();
    bool dropSilentPeer(qint64 now); // true when it dropped the connection
    void handleText(const QByteArray &text);
    void handleWelcome(const QByteArray &text);
    void handleManifest(Pending &p, const protocol::ServerMessage &m);
    void handleChunkHeader(Pending &p, const protocol::ServerMessage &m);
    // Why a reply of `bytes` for `p` cannot be taken in, empty when it can.
    QString sizeProblem(const Pending &p, qint64 bytes) const;
    qint64 memoryLimit() const;
    const ManifestChunk *chunkNamed(const QString &name) const; // network thread; O(1)
    void scheduleReconnect();
    void failEverything(const QString &code, const QString &message);
    bool givesUp() const; // after the connection ended: whether trying again cannot help
    void setState(ConnectionState state);

    quint32 enqueue(Kind kind, const QString &name, bool stored);
    void addRequest(quint32 id, Kind kind, const QString &name, bool stored);
    void cancelRequest(quint32 id);
    void sendCancel(quint32 id);
    void abandon(quint32 id, const QString &code, const QString &message); // cancel on the server, fail here
    void pump();
    void send(Pending &p);
    void requeueInFlight();
    void fail(quint32 id, const QString &code, const QString &message);
    void failSoon(Pending &p, const QString &code, const QString &message); // from inside send()
    void finish(quint32 id);
    void completePieces(Pending &p);
    void handleServerError(quint32 id, const QString &code, const QString &message, qint64 retryAfterMs);
    QString describe(const Pending &p) const;
    static qint64 nowMs();

    WeightClientOptions m_options;
    WebSocketClient *m_socket = nullptr;
    // The buffer a piece is being written into by the transport: held here too, so that it
    // outlives a request cancelled or failed while its piece is still arriving.
    QByteArray m_sinkBuffer;
    QTimer *m_tick = nullptr;
    QThreadPool m_decodePool;
    ConnectionState m_state = ConnectionState::Disconnected;
    bool m_closing = false;
    bool m_welcomed = false;
    bool m_everWelcomed = false;
    qint64 m_firstAttemptMs = 0;
    QString m_attemptError; // why the current attempt ended, when the client ended it
    QString m_refusal;      // the server said "not now" to this attempt's hello (storage failing)
    bool m_socketEnded = false;
    bool m_manifestRequested = false;
    int m_reconnectAttempt = 0;
    qint64 m_connectStartedMs = 0;
    int m_maxInFlight = 64;
    int m_maxPieceBytes = 256 * 1024;
    int m_inFlight = 0;
    qint64 m_awaitingSinceMs = 0; // when m_inFlight last rose from 0
    qint64 m_lastPieceMs = 0;     // when a piece of any request last arrived
    bool m_pinged = false;

    QHash<quint32, Pending *> m_pending;
    std::deque<quint32> m_queue; // waiting to be sent, in order
    QAtomicInteger<quint32> m_nextId{0};
    QAtomicInteger<qint64> m_retries{0};
    QAtomicInteger<qint64> m_reconnects{0};

    mutable QMutex m_mutex; // guards what the thread-safe getters read
    ChunkManifest m_manifest;
    QHash<QString, qsizetype> m_chunkIndex; // name -> index in m_manifest.chunks
    QByteArray m_manifestJson;
    bool m_hasManifest = false;
    QString m_model;
};

} // namespace surfing
