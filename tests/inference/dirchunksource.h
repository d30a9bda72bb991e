// Test-side helpers: a chunk directory written by the Chunker,
// and a ChunkSource over such a directory that counts what it served (hash-checked, decoded).
#pragma once

#include "client/chunksource.h"

#include <QHash>
#include <QMutex>
#include <QString>
#include <QStringList>

namespace surfing::test {

// Chunks MODEL_DIR into OUT_DIR with the project's Chunker (compressed). Throws surfing::Error.
void writeChunkDir(const QString &modelDir, const QString &outDir);

class DirChunkSource : public ChunkSource
{
public:
    explicit DirChunkSource(const QString &chunkDir);

    const ChunkManifest &manifest() const override { return m_manifest; }
    bool prefetch(const QString &name) override;
    std::shared_ptr<const QByteArray> acquire(const QString &name, ChunkFetch *fetch = nullptr) override;

    QStringList fetchLog() const; // names read from disk, in order
    QStringList prefetchLog() const;

private:
    QString m_dir;
    ChunkManifest m_manifest;
    mutable QMutex m_mutex;
    QStringList m_fetchLog;
    QStringList m_prefetchLog;
};

} // namespace surfing::test
