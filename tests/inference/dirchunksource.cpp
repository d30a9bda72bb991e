#include "dirchunksource.h"

#include "base/error.h"
#include "base/sha256.h"
#include "chunking/chunker.h"
#include "format/chunkcodec.h"

#include <QDir>
#include <QFile>

namespace surfing::test {

void writeChunkDir(const QString &modelDir, const QString &outDir)
{
    ChunkOptions options;
    options.compress = true; // the byte-grouped zstd path is the one a server ships
    options.replaceExisting = true;
    Chunker(options).run(modelDir, outDir);
}

DirChunkSource::DirChunkSource(const QString &chunkDir)
    : m_dir(chunkDir), m_manifest(ChunkManifest::load(chunkDir))
{
}

bool DirChunkSource::prefetch(const QString &name)
{
    QMutexLocker lock(&m_mutex);
    m_prefetchLog << name;
    return true; // nothing is kept here: every chunk is read at acquire()
}

std::shared_ptr<const QByteArray> DirChunkSource::acquire(const QString &name, ChunkFetch *fetch)
{
    const ManifestChunk *chunk = m_manifest.find(name);
    if (!chunk)
        throw Error(QStringLiteral("chunk '%1' is not in the manifest").arg(name));
    const qint64 start = timelineClockNs();
    QFile f(m_dir + QLatin1Char('/') + chunk->file);
    if (!f.open(QIODevice::ReadOnly))
        throw Error(QStringLiteral("chunk '%1': cannot open %2").arg(name, f.fileName()));
    const QByteArray stored = f.readAll();
    if (Sha256::hashHex(stored) != chunk->sha256)
        throw Error(QStringLiteral("chunk '%1': SHA-256 mismatch").arg(name));
    auto bytes = std::make_shared<const QByteArray>(decodeChunk(stored, chunk->codec, chunk->rawBytes, name));
    {
        QMutexLocker lock(&m_mutex);
        m_fetchLog << name;
    }
    if (fetch) {
        fetch->cacheHit = false;
        fetch->bytes = stored.size();
        fetch->fetchStartNs = start;
        fetch->fetchEndNs = timelineClockNs();
        fetch->waitNs = fetch->fetchEndNs - start;
    }
    return bytes;
}

QStringList DirChunkSource::fetchLog() const
{
    QMutexLocker lock(&m_mutex);
    return m_fetchLog;
}

QStringList DirChunkSource::prefetchLog() const
{
    QMutexLocker lock(&m_mutex);
    return m_prefetchLog;
}

} // namespace surfing::test
