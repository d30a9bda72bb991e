// Client-side failover over several weight servers (replicas serving the same model): one
// WeightClient per URL, all on the pool's (network) thread. Chunk (and file) requests go to the healthy
// server with the fewest requests outstanding; when a server's connection drops, its unfinished
// requests move to the others at once, and a request that failed for a reason another server
// might not share (connection, timeout, storage error, bad bytes) is asked of another one.
// A server whose manifest differs from the first one's is not used (its chunks would not verify
// against the manifest the run uses). A server that gave up is tried again every few seconds.
//
// With a single URL the pool adds nothing: the client's own reconnects are all there is, and its
// failures are the pool's.
#pragma once

#include "client/weightclient.h"

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QMutex>
#include <QObject>
#include <QTimer>
#include <QUrl>
#include <atomic>
#include <vector>

namespace surfing {

class ServerPool : public QObject
{
    Q_OBJECT
public:
    // `base` gives everything but the URL, which each of `urls` (at least one) supplies.
    ServerPool(const WeightClientOptions &base, const QList<QUrl> &urls, QObject *parent = nullptr);
    ~ServerPool() override;

    // Thread-safe; results come as chunkDelivered / chunkFailed. One request per name at a time
    // (the caller never asks for a chunk already in flight). `stored`: the stored (verified, still
    // encoded) bytes instead of decoded safetensors, as WeightClient::fetchChunk().
    void fetchChunk(const QString &name, bool stored = false);
    // A file the manifest lists beside the chunks; results come as fileDelivered / fileFailed.
    void fetchFile(const QString &name);

    // After ready(): the client whose manifest the pool uses (files, GUI signals), its manifest.
    WeightClient *primary() const { return m_primary; }
    ChunkManifest manifest() const;
    QList<QUrl> urls() const { return m_urls; }
    // Requests sent again by the clients (see WeightClient::retries()) and requests moved to
    // another server. Thread-safe.
    qint64 retries() const;
    qint64 failovers() const { return m_failovers.load(); }
    // Sessions the clients opened again after a drop, and times a server in use was lost
    // (its connection dropped or it gave up). Thread-safe.
    qint64 reconnects() const;
    qint64 serversLost() const { return m_lost.load(); }

public Q_SLOTS:
    void open();
    void close();

Q_SIGNALS:
    void ready();                            // the first manifest arrived
    void memberStateChanged(const QUrl &url, surfing::ConnectionState state); // attempts, for a GUI
    void openFailed(const QString &message); // every server failed before any manifest did
    // From any thread (decoding runs on a pool).
    // `received`: the verified bytes as they arrived (compressed chunks: before decoding).
    void chunkDelivered(const QString &name, const QByteArray &data, qint64 storedBytes, qint64 startNs, qint64 endNs,
                        const QByteArray &received);
    void chunkFailed(const QString &name, const QString &message);
    void fileDelivered(const QString &name, const QByteArray &data);
    // `code` as WeightClient::requestFailed (a server predating file requests says "bad_request").
    void fileFailed(const QString &name, const QString &code, const QString &message);

private:
    struct Member {
        QUrl url;
        WeightClient *client = nullptr;
        bool agreed = false;   // its manifest is the pool's
        bool excluded = false; // its manifest differs: never used
        bool gaveUp = false;   // waiting to be replaced by a fresh client
        bool ready = false;    // its connection is up
        QString lastError;
    };
    // m_routes is keyed by routeKey(): a chunk by its name, a file apart from the chunks.
    struct Route {
        QString name;
        bool file = false;
        bool stored = false;
        int member = -1;       // -1: parked until a server is healthy
        quint32 id = 0;
        quint64 serial = 0;    // bumped on every dispatch
        int attempts = 0;
        qint64 parkedSinceMs = 0;
        QString lastError;
    };

    static QString routeKey(const QString &name, bool file);
    void addRoute(const QString &name, bool file, bool stored);
    void startMember(int index);
    bool isHealthy(int index) const;
    int pickMember(int avoid) const;
    void dispatch(const QString &key, int avoid = -1);
    void onStateChanged(int index, ConnectionState state);
    void onManifest(int index);
    void onGaveUp(int index, const QString &message);
    void onDelivered(int index, const QString &key, const QByteArray &data, qint64 stored, qint64 startNs, qint64 endNs,
                     const QByteArray &received);
    void onFailed(int index, quint32 id, const QString &name, const QString &code, const QString &message);
    void moveAway(int index, const QString &why);
    void rebalance();
    void dispatchParked();
    void checkParked();
    void failRoute(const QString &key, const QString &code, const QString &message);

    WeightClientOptions m_base;
    QList<QUrl> m_urls;
    std::vector<Member> m_members; // network thread
    WeightClient *m_primary = nullptr;
    QByteArray m_manifestJson;     // the pool's manifest, as its first server sent it
    bool m_ready = false;
    bool m_closing = false;
    QTimer m_tick;
    mutable QMutex m_mutex;        // guards m_routes (results arrive on decoding threads)
    QHash<QString, Route> m_routes;
    std::atomic<qint64> m_failovers{0};
    std::atomic<qint64> m_retiredRetries{0}; // of clients replaced since
    std::atomic<qint64> m_retiredReconnects{0};
    std::atomic<qint64> m_lost{0};
};

// Splits "ws://a:1,ws://b:2" (and repeated options) into URLs; an error message names the bad
// one. Accepts ws:// and wss:// only.
QList<QUrl> parseServerList(const QStringList &values, QString *error);

} // namespace surfing
