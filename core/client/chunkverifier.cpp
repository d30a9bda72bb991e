#include "client/chunkverifier.h"

#include "base/error.h"
#include "base/files.h"
#include "base/sha256.h"
#include "cache/chunkbufferpool.h"
#include "client/receiptverifier.h"

#include <QFileInfo>

namespace surfing {

void verifyStoredChunk(QByteArrayView stored, const ManifestChunk &chunk, const QString &origin, StreamedCheck streamed)
{
    if (stored.size() != chunk.storedBytes)
        throw ChunkIntegrityError(QStringLiteral("chunk '%1' of %2: got %3 bytes, the manifest says %4; refusing to use it")
                        .arg(chunk.name, origin).arg(stored.size()).arg(chunk.storedBytes));
    ReceiptVerifier &verifier = ReceiptVerifier::instance();
    if (streamed == StreamedCheck::Matched
        || (streamed == StreamedCheck::None && verifier.matchesEarlierReceipt(stored, chunk.sha256)))
        return;
    QByteArray actual;
    if (!verifier.verify(stored, chunk.sha256, &actual))
        throw ChunkIntegrityError(QStringLiteral("chunk '%1' of %2: SHA-256 mismatch (got %3, the manifest says %4); "
                                   "the stored chunk is corrupt, re-create or re-copy it")
                        .arg(chunk.name, origin, QString::fromLatin1(actual), QString::fromLatin1(chunk.sha256)));
}

void verifyModelFile(QByteArrayView bytes, const ManifestFile &file, const QString &origin)
{
    if (!file.hasChecksum())
        return;
    if (bytes.size() != file.bytes)
        throw ChunkIntegrityError(QStringLiteral("file '%1' of %2: got %3 bytes, the manifest says %4; refusing to use it")
                                      .arg(file.name, origin).arg(bytes.size()).arg(file.bytes));
    const QByteArray actual = Sha256::hashHex(bytes);
    if (actual != file.sha256)
        throw ChunkIntegrityError(QStringLiteral("file '%1' of %2: SHA-256 mismatch (got %3, the manifest says %4); "
                                                 "it was changed after chunking, re-create or re-copy it")
                                      .arg(file.name, origin, QString::fromLatin1(actual), QString::fromLatin1(file.sha256)));
}

void verifyModelFileAt(const QString &path, const ManifestFile &file, const QString &origin)
{
    requireRegularFile(path);
    if (!file.hasChecksum())
        return;
    const qint64 size = QFileInfo(path).size();
    if (size != file.bytes)
        throw ChunkIntegrityError(QStringLiteral("file '%1' of %2: is %3 bytes, the manifest says %4; refusing to use it")
                                      .arg(file.name, origin).arg(size).arg(file.bytes));
    verifyModelFile(readRegularFile(path, file.bytes), file, origin);
}

void verifyModelFilesIn(const QString &dir, const ChunkManifest &manifest)
{
    for (const ManifestFile &file : manifest.files) {
        const QString path = dir + QLatin1Char('/') + file.name;
        if (pathEntryExists(path))
            verifyModelFileAt(path, file, dir);
    }
}

QByteArray verifyAndDecodeChunk(const QByteArray &stored, const ManifestChunk &chunk, const QString &origin,
                                StreamedCheck streamed)
{
    verifyStoredChunk(stored, chunk, origin, streamed);
    if (chunk.codec == ChunkCodec::None)
        return stored;
    // Into a pooled buffer: an evicted chunk's pages, not a fresh mapping the kernel zero-fills.
    return decodeChunk(stored, chunk.codec, chunk.rawBytes, QStringLiteral("chunk '%1' of %2").arg(chunk.name, origin),
                       [](qint64 size) { return ChunkBufferPool::instance().take(size); });
}

} // namespace surfing
