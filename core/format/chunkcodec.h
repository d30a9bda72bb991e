// How a chunk's safetensors bytes are stored: as they are, or byte-grouped and zstd-compressed.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QString>
#include <functional>
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

// Hands out a buffer of exactly `size` bytes, contents unspecified (a client passes its buffer pool).
using ChunkBufferAllocator = std::function<QByteArray(qint64 size)>;

// Restores the safetensors bytes. `rawSize` (from the manifest) bounds the output so hostile
// input cannot make us allocate more. zstd-bytegroup decodes straight into one buffer of
// `rawSize` bytes from `allocate` (default: a new one), scattering the streams as zstd produces
// them: no second, grouped copy of the chunk. Throws surfing::Error naming `source`.
QByteArray decodeChunk(QByteArrayView stored, ChunkCodec codec, qint64 rawSize, const QString &source,
                       const ChunkBufferAllocator &allocate = {});

} // namespace surfing
