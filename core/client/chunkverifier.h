// The last gate before chunk bytes reach anyone: their SHA-256 must be the one the manifest
// names, and they must decode. Shared by the network and the local-directory sources.
#pragma once

#include "base/error.h"
#include "format/chunkmanifest.h"

#include <QByteArray>

namespace surfing {

// The bytes are not the ones the manifest names (size or hash): never to be used.
class ChunkIntegrityError : public Error
{
public:
    using Error::Error;
};

// Throws ChunkIntegrityError naming the chunk and `origin` (the model or directory) on a size or
// hash mismatch; never returns bytes that differ from the manifest.
void verifyStoredChunk(QByteArrayView stored, const ManifestChunk &chunk, const QString &origin);

// verifyStoredChunk, then decodeChunk (zstd + byte-grouping) to the safetensors bytes.
QByteArray verifyAndDecodeChunk(const QByteArray &stored, const ManifestChunk &chunk, const QString &origin);

} // namespace surfing
