// ChunkSource over a weight server, or several serving the same model (ServerPool: requests
// spread over the healthy ones, moved off one that fails): WeightClients on their own network
// thread, a ClientCache and prefetch. acquire() blocks only the compute thread; the network
// thread keeps reading.
#pragma once

#include "client/fetchingchunksource.h"
#include "client/serverpool.h"
#include "client/weightclient.h"

#include <QHash>
#include <QThread>
#include <functional>
#include <memory>

namespace surfing {

struct RemoteChunkSourceOptions {
    WeightClientOptions client; // its url is used when `servers` is empty
    QList<QUrl> servers;        // replicas of one model: failover between them
    qint64 cacheBytes = 0; // <= 0: no byte limit
    int cacheChunks = 0;   // <= 0: no chunk limit
    CachePolicyKind policy = CachePolicyKind::ScanResistant;
    // Called on the network thread at every connection state change (a GUI counts attempts).
    std::function<void(ConnectionState)> connectionStateChanged;
};

class RemoteChunkSource : public FetchingChunkSource
{
public:
    // Connects and fetches the manifest; throws surfing::Error naming the server when that fails.
    explicit RemoteChunkSource(const RemoteChunkSourceOptions &options);
    ~RemoteChunkSource() override;

    const ChunkManifest &manifest() const override { return m_manifest; }
    // For files and GUI signals (connection state, per-chunk latency): the client whose manifest
    // is used. Lives on the network thread.
    WeightClient *client() const { return m_client; }
    // Requests sent again (reconnects, storage errors) and moved to another server.
    qint64 retries() const { return m_pool->retries(); }
    qint64 failovers() const { return m_pool->failovers(); }
    qint64 reconnects() const { return m_pool->reconnects(); }
    qint64 serversLost() const { return m_pool->serversLost(); }
    int serverCount() const { return int(m_pool->urls().size()); }

protected:
    void startFetch(const QString &name) override;
    QString origin() const override { return m_origin; }

private:
    QThread m_thread;
    ServerPool *m_pool = nullptr;
    WeightClient *m_client = nullptr;
    ChunkManifest m_manifest;
    QString m_origin;
};

} // namespace surfing
