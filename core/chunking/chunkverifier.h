// Re-reads a chunk directory the way a client would: hash, decode, parse and compare every chunk
// with its manifest entry. Used by `surfing-cli verify` and the tests.
#pragma once

#include "format/chunkmanifest.h"

#include <QString>
#include <QVector>
#include <functional>

namespace surfing {

struct ChunkCheck {
    QString chunk;   // chunk name, or a companion file name
    bool ok = true;
    QString problem; // what is wrong, when !ok
};

struct VerifyReport {
    ChunkManifest manifest;
    QVector<ChunkCheck> checks;
    bool ok() const;
    int failures() const;
};

// Throws surfing::Error only when the manifest itself cannot be read; problems with individual
// chunks are reported per chunk. `progress(done, total)` is called after each chunk.
VerifyReport verifyChunkDir(const QString &dir, const std::function<void(int, int)> &progress = {});

// Checks one chunk's stored bytes against its manifest entry (size and SHA-256 through
// verifyAndDecodeChunk of client/chunkverifier.h, then the tensor list) and returns the decoded
// safetensors bytes; throws surfing::Error naming the chunk and `origin`.
QByteArray checkChunkBytes(const ManifestChunk &chunk, const QByteArray &stored, const QString &origin);

} // namespace surfing
