#include "format/chunkcodec.h"

#include "base/error.h"
#include "format/bytegroup.h"
#include "format/safetensors.h"

#include <cstring>
#include <zstd.h>

namespace surfing {
namespace {

// Applies `transform` (group or ungroup) to every floating-point tensor span of `file`, in place.
template<typename Transform>
void transformFloatSpans(QByteArray &file, const SafetensorsHeader &header, Transform transform)
{
    QByteArray scratch;
    for (const TensorInfo &t : header.tensors) {
        const int elementSize = dtypeSize(t.dtype);
        if (!isFloatingPoint(t.dtype) || elementSize < 2 || t.byteSize() == 0)
            continue;
        char *span = file.data() + header.dataOffset + t.begin;
        scratch.resize(t.byteSize());
        std::memcpy(scratch.data(), span, size_t(t.byteSize()));
        transform(scratch.constData(), t.byteSize(), elementSize, span);
    }
}

} // namespace

QString codecName(ChunkCodec codec)
{
    return codec == ChunkCodec::None ? QStringLiteral("none") : QStringLiteral("zstd-bytegroup");
}

std::optional<ChunkCodec> codecFromName(const QString &name)
{
    if (name == QLatin1String("none"))
        return ChunkCodec::None;
    if (name == QLatin1String("zstd-bytegroup"))
        return ChunkCodec::ZstdByteGroup;
    return std::nullopt;
}

QString codecFileSuffix(ChunkCodec codec)
{
    return codec == ChunkCodec::None ? QStringLiteral(".safetensors") : QStringLiteral(".safetensors.bgz");
}

QByteArray encodeChunk(QByteArrayView safetensors, ChunkCodec codec, int level)
{
    if (codec == ChunkCodec::None)
        return safetensors.toByteArray();
    QByteArray grouped = safetensors.toByteArray();
    const SafetensorsHeader header = parseSafetensors(grouped, QStringLiteral("chunk"));
    transformFloatSpans(grouped, header, groupBytes);

    QByteArray out(qsizetype(ZSTD_compressBound(size_t(grouped.size()))), Qt::Uninitialized);
    const size_t written = ZSTD_compress(out.data(), size_t(out.size()), grouped.constData(),
                                         size_t(grouped.size()), level);
    if (ZSTD_isError(written))
        throw Error(QStringLiteral("zstd compression failed: %1").arg(QLatin1String(ZSTD_getErrorName(written))));
    out.resize(qsizetype(written));
    return out;
}

QByteArray decodeChunk(QByteArrayView stored, ChunkCodec codec, qint64 rawSize, const QString &source)
{
    if (codec == ChunkCodec::None) {
        if (stored.size() != rawSize)
            throw Error(QStringLiteral("%1: %2 bytes stored, manifest says %3").arg(source).arg(stored.size()).arg(rawSize));
        return stored.toByteArray();
    }
    const unsigned long long contentSize = ZSTD_getFrameContentSize(stored.data(), size_t(stored.size()));
    if (contentSize == ZSTD_CONTENTSIZE_ERROR || contentSize == ZSTD_CONTENTSIZE_UNKNOWN
        || contentSize != (unsigned long long)rawSize)
        throw Error(QStringLiteral("%1: not a zstd frame of the %2 bytes the manifest promises").arg(source).arg(rawSize));

    QByteArray file(qsizetype(rawSize), Qt::Uninitialized);
    const size_t size = ZSTD_decompress(file.data(), size_t(file.size()), stored.data(), size_t(stored.size()));
    if (ZSTD_isError(size) || qint64(size) != rawSize)
        throw Error(QStringLiteral("%1: corrupt zstd data: %2").arg(source, QLatin1String(ZSTD_getErrorName(size))));
    const SafetensorsHeader header = parseSafetensors(file, source);
    transformFloatSpans(file, header, ungroupBytes);
    return file;
}

} // namespace surfing
