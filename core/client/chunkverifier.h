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
// hash mismatch; never returns bytes that differ from the manifest. `streamed`: what checking
// exactly these bytes block by block as they arrived (ReceiptVerifier::BlockCheck) found:
// Matched, they are not read again; Differs, SHA-256 decides at once.
enum class StreamedCheck { None, Matched, Differs };
void verifyStoredChunk(QByteArrayView stored, const ManifestChunk &chunk, const QString &origin,
                       StreamedCheck streamed = StreamedCheck::None);

// The same gate for config.json and the tokenizer files: size and SHA-256 as the manifest says
// (a format-1 manifest has no checksum for them; nothing is checked then).
void verifyModelFile(QByteArrayView bytes, const ManifestFile &file, const QString &origin);

// verifyModelFile on the file at `path` (which must be a regular file).
void verifyModelFileAt(const QString &path, const ManifestFile &file, const QString &origin);

// Checks every file of `manifest.files` that is present in `dir` (where a session reads them).
void verifyModelFilesIn(const QString &dir, const ChunkManifest &manifest);

// verifyStoredChunk, then decodeChunk (zstd + byte-grouping) to the safetensors bytes.
QByteArray verifyAndDecodeChunk(const QByteArray &stored, const ManifestChunk &chunk, const QString &origin,
                                StreamedCheck streamed = StreamedCheck::None);

} // namespace surfing
