// How a chunk's safetensors bytes are stored: as they are, or byte-grouped and zstd-compressed.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QString>
#include <optional>

namespace surfing {

enum class ChunkCodec {
    None,          // stored bytes are the safetensors file
    ZstdByteGroup, // floating-point tensor spans byte-grouped, then the whole file as one zstd frame
};

QString codecName(ChunkCodec codec); // "none", "zstd-bytegroup"
std::optional<ChunkCodec> codecFromName(const QString &name);
QString codecFileSuffix(ChunkCodec codec); // ".safetensors", ".safetensors.bgz"

// Encodes a valid safetensors file for storage (zstd `level` 1..19 when compressing).
QByteArray encodeChunk(QByteArrayView safetensors, ChunkCodec codec, int level);

// Restores the safetensors bytes. `rawSize` (from the manifest) bounds the output so hostile
// input cannot make us allocate more. Throws surfing::Error naming `source`.
QByteArray decodeChunk(QByteArrayView stored, ChunkCodec codec, qint64 rawSize, const QString &source);

} // namespace surfing
