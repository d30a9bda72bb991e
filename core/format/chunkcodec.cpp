#include "format/chunkcodec.h"

#include "base/error.h"
#include "format/bytegroup.h"
#include "format/safetensors.h"

#include <cstring>
#include <zstd.h>

namespace surfing {
namespace {

// The grouped layout of a safetensors file: the header unchanged, then for each floating-point
// element size (8, 4, 2 bytes) the streams of all tensors of that size taken together in data
// order, then the bytes of every other tensor in data order. Grouping a whole chunk at once keeps
// each zstd block within one stream, so its entropy tables see exponents or mantissas, not both.
struct GroupedLayout {
    struct Run {
        const TensorInfo *tensor;
        qint64 streamOffset; // elements before this tensor within its size class
    };
    struct SizeClass {
        int elementSize = 0;
        qint64 elements = 0;
        qint64 start = 0; // offset of its first stream in the grouped data
        QVector<Run> runs;
    };
    QVector<SizeClass> classes;
    QVector<const TensorInfo *> others;
    qint64 othersStart = 0;
};

bool isGrouped(const TensorInfo &t)
{
    const int size = dtypeSize(t.dtype);
    return isFloatingPoint(t.dtype) && (size == 2 || size == 4 || size == 8);
}

GroupedLayout layoutOf(const SafetensorsHeader &header)
{
    GroupedLayout layout;
    qint64 cursor = header.dataOffset;
    for (int size : {8, 4, 2}) {
        GroupedLayout::SizeClass sizeClass{size, 0, cursor, {}};
        for (const TensorInfo &t : header.tensors) {
            if (isGrouped(t) && dtypeSize(t.dtype) == size) {
                sizeClass.runs.append({&t, sizeClass.elements});
                sizeClass.elements += t.byteSize() / size;
            }
        }
        cursor += sizeClass.elements * size;
        layout.classes.append(sizeClass);
    }
    layout.othersStart = cursor;
    for (const TensorInfo &t : header.tensors) {
        if (!isGrouped(t))
            layout.others.append(&t);
    }
    return layout;
}

// Direction of the transform: from the plain file to the grouped one, or back.
enum class Direction { Group, Ungroup };

QByteArray transform(const QByteArray &from, const SafetensorsHeader &header, Direction direction)
{
    QByteArray to(from.size(), Qt::Uninitialized);
    std::memcpy(to.data(), from.constData(), size_t(header.dataOffset));
    const GroupedLayout layout = layoutOf(header);
    for (const GroupedLayout::SizeClass &c : layout.classes) {
        for (const GroupedLayout::Run &run : c.runs) {
            const qint64 plainAt = header.dataOffset + run.tensor->begin;
            const qint64 count = run.tensor->byteSize() / c.elementSize;
            char *streams[8];
            for (int b = 0; b < c.elementSize; ++b)
                streams[b] = (direction == Direction::Group ? to.data() : const_cast<char *>(from.constData()))
                             + c.start + b * c.elements + run.streamOffset;
            if (direction == Direction::Group)
                groupElements(from.constData() + plainAt, count, c.elementSize, streams);
            else
                ungroupElements(streams, count, c.elementSize, to.data() + plainAt);
        }
    }
    qint64 groupedAt = layout.othersStart;
    for (const TensorInfo *t : layout.others) {
        const qint64 plainAt = header.dataOffset + t->begin;
        if (direction == Direction::Group)
            std::memcpy(to.data() + groupedAt, from.constData() + plainAt, size_t(t->byteSize()));
        else
            std::memcpy(to.data() + plainAt, from.constData() + groupedAt, size_t(t->byteSize()));
        groupedAt += t->byteSize();
    }
    return to;
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
    const QByteArray file = safetensors.toByteArray();
    const QByteArray grouped = transform(file, parseSafetensors(file, QStringLiteral("chunk")), Direction::Group);

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

    QByteArray grouped(qsizetype(rawSize), Qt::Uninitialized);
    const size_t size = ZSTD_decompress(grouped.data(), size_t(grouped.size()), stored.data(), size_t(stored.size()));
    if (ZSTD_isError(size) || qint64(size) != rawSize)
        throw Error(QStringLiteral("%1: corrupt zstd data: %2").arg(source, QLatin1String(ZSTD_getErrorName(size))));
    return transform(grouped, parseSafetensors(grouped, source), Direction::Ungroup);
}

} // namespace surfing
