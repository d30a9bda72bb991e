// ChunkSource over a chunk directory on this machine (`surfing-cli run --local DIR`): reads,
// verifies the hash and decodes on a thread pool, with the same cache and prefetch as the
// remote source.
#pragma once

#include "client/fetchingchunksource.h"

#include <QThreadPool>

namespace surfing {

class LocalChunkSource : public FetchingChunkSource
{
public:
    // Loads the manifest; throws surfing::Error naming the directory when it is not a chunk dir.
    explicit LocalChunkSource(const QString &chunkDir, qint64 cacheBytes = 0, int cacheChunks = 0,
                              CachePolicyKind policy = CachePolicyKind::ScanResistant);
    ~LocalChunkSource() override;

    const ChunkManifest &manifest() const override { return m_manifest; }

protected:
    void startFetch(const QString &name) override;
    QString origin() const override;

private:
    QString m_dir;
    ChunkManifest m_manifest;
    QThreadPool m_pool;
};

} // namespace surfing
