// ChunkSource over a weight server: a WeightClient on its own network thread, a ClientCache and
// prefetch. acquire() blocks only the compute thread; the network thread keeps reading.
#pragma once

#include "client/fetchingchunksource.h"
#include "client/weightclient.h"

#include <QHash>
#include <QThread>
#include <functional>
#include <memory>

namespace surfing {

struct RemoteChunkSourceOptions {
    WeightClientOptions client;
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
    // For GUI signals (connection state, per-chunk latency). Lives on the network thread.
    WeightClient *client() const { return m_client; }

protected:
    void startFetch(const QString &name) override;
    QString origin() const override { return m_origin; }

private:
    QThread m_thread;
    WeightClient *m_client = nullptr;
    ChunkManifest m_manifest;
    QString m_origin;
};

} // namespace surfing
