#include "client/localchunksource.h"

#include "base/error.h"
#include "cache/chunkbufferpool.h"
#include "client/chunkverifier.h"

#include <QDir>
#include <QFile>
#include <QtConcurrent>

namespace surfing {

LocalChunkSource::LocalChunkSource(const QString &chunkDir, qint64 cacheBytes, int cacheChunks, CachePolicyKind policy)
    : FetchingChunkSource(policy), m_dir(QDir(chunkDir).absolutePath()), m_manifest(ChunkManifest::load(chunkDir))
{
    cache().setBudget(cacheBytes, cacheChunks);
    m_pool.setMaxThreadCount(qMax(2, QThread::idealThreadCount()));
}

LocalChunkSource::~LocalChunkSource()
{
    stopCompressedDecodes();
    m_pool.waitForDone();
}

QString LocalChunkSource::origin() const
{
    return QStringLiteral("directory %1").arg(m_dir);
}

void LocalChunkSource::startFetch(const QString &name)
{
    const ManifestChunk chunk = *m_manifest.find(name);
    const QString path = m_dir + QLatin1Char('/') + chunk.file; // a safe plain name (manifest checks)
    (void)QtConcurrent::run(&m_pool, [this, chunk, path] {
        const qint64 startNs = timelineClockNs();
        try {
            QFile file(path);
            if (!file.open(QIODevice::ReadOnly))
                throw Error(QStringLiteral("chunk '%1': cannot read %2: %3").arg(chunk.name, path, file.errorString()));
            if (file.size() != chunk.storedBytes)
                throw ChunkIntegrityError(QStringLiteral("chunk '%1': %2 has %3 bytes, the manifest says %4")
                                              .arg(chunk.name, path).arg(file.size()).arg(chunk.storedBytes));
            QByteArray stored = ChunkBufferPool::instance().take(chunk.storedBytes);
            if (file.read(stored.data(), stored.size()) != stored.size())
                throw Error(QStringLiteral("chunk '%1': cannot read %2: %3").arg(chunk.name, path, file.errorString()));
            const QByteArray decoded = verifyAndDecodeChunk(stored, chunk, origin());
            delivered(chunk.name, decoded, stored.size(), startNs, timelineClockNs(), stored);
        } catch (const Error &e) {
            failed(chunk.name, e.message());
        }
    });
}

} // namespace surfing
