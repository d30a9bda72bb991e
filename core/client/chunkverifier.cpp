#include "client/chunkverifier.h"

#include "base/error.h"
#include "base/sha256.h"

namespace surfing {

void verifyStoredChunk(QByteArrayView stored, const ManifestChunk &chunk, const QString &origin)
{
    if (stored.size() != chunk.storedBytes)
        throw ChunkIntegrityError(QStringLiteral("chunk '%1' of %2: got %3 bytes, the manifest says %4; refusing to use it")
                        .arg(chunk.name, origin).arg(stored.size()).arg(chunk.storedBytes));
    const QByteArray actual = Sha256::hashHex(stored);
    if (actual != chunk.sha256)
        throw ChunkIntegrityError(QStringLiteral("chunk '%1' of %2: SHA-256 mismatch (got %3, the manifest says %4); "
                                   "the stored chunk is corrupt, re-create or re-copy it")
                        .arg(chunk.name, origin, QString::fromLatin1(actual), QString::fromLatin1(chunk.sha256)));
}

QByteArray verifyAndDecodeChunk(const QByteArray &stored, const ManifestChunk &chunk, const QString &origin)
{
    verifyStoredChunk(stored, chunk, origin);
    if (chunk.codec == ChunkCodec::None)
        return stored;
    return decodeChunk(stored, chunk.codec, chunk.rawBytes,
                       QStringLiteral("chunk '%1' of %2").arg(chunk.name, origin));
}

} // namespace surfing
