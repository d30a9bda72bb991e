#include "format/chunkcodec.h"

#include "base/error.h"
#include "format/bytegroup.h"
#include "format/safetensors.h"

#include <QtEndian>
#include <algorithm>
#include <cstring>
#include <memory>
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

// The grouped file for the encoder: the header unchanged, then the streams of each size class.
QByteArray grouped(const QByteArray &from, const SafetensorsHeader &header)
{
    QByteArray to(from.size(), Qt::Uninitialized);
    std::memcpy(to.data(), from.constData(), size_t(header.dataOffset));
    const GroupedLayout layout = layoutOf(header);
    for (const GroupedLayout::SizeClass &c : layout.classes) {
        for (const GroupedLayout::Run &run : c.runs) {
            char *streams[8];
            for (int b = 0; b < c.elementSize; ++b)
                streams[b] = to.data() + c.start + b * c.elements + run.streamOffset;
            groupElements(from.constData() + header.dataOffset + run.tensor->begin,
                          run.tensor->byteSize() / c.elementSize, c.elementSize, streams);
        }
    }
    qint64 groupedAt = layout.othersStart;
    for (const TensorInfo *t : layout.others) {
        std::memcpy(to.data() + groupedAt, from.constData() + header.dataOffset + t->begin, size_t(t->byteSize()));
        groupedAt += t->byteSize();
    }
    return to;
}

// Scatters the grouped bytes into the plain file as they come out of zstd, so the decoder never
// holds a grouped copy of the chunk beside the plain one (a whole chunk more at its peak).
class StreamingUngrouper
{
public:
    StreamingUngrouper(const SafetensorsHeader &header, char *out) : m_out(out)
    {
        const GroupedLayout layout = layoutOf(header);
        for (const GroupedLayout::SizeClass &c : layout.classes) {
            for (int b = 0; b < c.elementSize; ++b) {
                for (const GroupedLayout::Run &run : c.runs)
                    m_segments.append({header.dataOffset + run.tensor->begin, run.tensor->byteSize() / c.elementSize,
                                       c.elementSize, b});
            }
        }
        for (const TensorInfo *t : layout.others)
            m_segments.append({header.dataOffset + t->begin, t->byteSize(), 1, 0});
    }

    // The next `size` grouped bytes (the caller never passes more than the file holds).
    void feed(const char *bytes, qint64 size)
    {
        while (size > 0 && m_index < m_segments.size()) {
            const Segment &s = m_segments[m_index];
            const qint64 n = std::min(size, s.count - m_done);
            ungroupStream(bytes, n, s.elementSize, s.byteIndex, m_out + s.plainAt + m_done * s.elementSize);
            bytes += n;
            size -= n;
            m_done += n;
            if (m_done == s.count) {
                ++m_index;
                m_done = 0;
            }
        }
    }

private:
    struct Segment {
        qint64 plainAt;   // the tensor's first byte in the plain file
        qint64 count;     // elements (bytes of this stream)
        int elementSize;  // 1: bytes copied as they are
        int byteIndex;
    };
    char *m_out;
    QVector<Segment> m_segments;
    qsizetype m_index = 0;
    qint64 m_done = 0;
};

struct DCtxFree {
    void operator()(ZSTD_DCtx *c) const { ZSTD_freeDCtx(c); }
};

// One decompression context per decoding thread, kept: its window buffer is reused.
ZSTD_DCtx *threadDecoder()
{
    thread_local std::unique_ptr<ZSTD_DCtx, DCtxFree> context(ZSTD_createDCtx());
    if (!context)
        throw std::bad_alloc();
    ZSTD_DCtx_reset(context.get(), ZSTD_reset_session_only);
    return context.get();
}

// Pulls decompressed bytes out of one zstd frame into caller buffers.
class FrameReader
{
public:
    FrameReader(QByteArrayView stored, const QString &source)
        : m_context(threadDecoder()), m_in{stored.data(), size_t(stored.size()), 0}, m_source(source)
    {
    }

    // Fills up to `capacity` bytes; fewer only when the frame ends (or is cut short).
    qint64 read(char *to, qint64 capacity)
    {
        ZSTD_outBuffer out{to, size_t(capacity), 0};
        while (out.pos < out.size && m_status != 0) {
            const size_t inBefore = m_in.pos, outBefore = out.pos;
            m_status = ZSTD_decompressStream(m_context, &out, &m_in);
            if (ZSTD_isError(m_status))
                throw Error(QStringLiteral("%1: corrupt zstd data: %2").arg(m_source, QLatin1String(ZSTD_getErrorName(m_status))));
            if (m_in.pos == inBefore && out.pos == outBefore)
                break; // no input left and nothing buffered: the frame is cut short
        }
        return qint64(out.pos);
    }

    // After the promised bytes: the frame must end there, with nothing after it.
    void requireEnd()
    {
        char extra = 0;
        if (read(&extra, 1) != 0 || m_status != 0 || m_in.pos != m_in.size)
            throw Error(QStringLiteral("%1: corrupt zstd data: the frame does not end after the bytes the manifest promises").arg(m_source));
    }

private:
    ZSTD_DCtx *m_context;
    ZSTD_inBuffer m_in;
    const QString &m_source;
    size_t m_status = 1; // 0 once the frame is complete
};

QByteArray decodeZstdByteGroup(QByteArrayView stored, qint64 rawSize, const QString &source, const ChunkBufferAllocator &allocate)
{
    const unsigned long long contentSize = ZSTD_getFrameContentSize(stored.data(), size_t(stored.size()));
    if (contentSize == ZSTD_CONTENTSIZE_ERROR || contentSize == ZSTD_CONTENTSIZE_UNKNOWN
        || contentSize != (unsigned long long)rawSize || rawSize < 8)
        throw Error(QStringLiteral("%1: not a zstd frame of the %2 bytes the manifest promises").arg(source).arg(rawSize));
    QByteArray out = allocate ? allocate(rawSize) : QByteArray(qsizetype(rawSize), Qt::Uninitialized);
    Q_ASSERT(out.size() == rawSize);
    FrameReader frame(stored, source);
    const auto truncated = [&] {
        return Error(QStringLiteral("%1: corrupt zstd data: the frame ends before the %2 bytes the manifest promises").arg(source).arg(rawSize));
    };
    // The length prefix and the JSON header are the same in both layouts: straight into place.
    if (frame.read(out.data(), 8) != 8)
        throw truncated();
    quint64 headerLength = 0;
    std::memcpy(&headerLength, out.constData(), 8);
    headerLength = qFromLittleEndian(headerLength);
    if (headerLength > quint64(rawSize - 8))
        throw Error(QStringLiteral("%1: header length %2 exceeds the file").arg(source).arg(headerLength));
    if (frame.read(out.data() + 8, qint64(headerLength)) != qint64(headerLength))
        throw truncated();
    const SafetensorsHeader header = parseSafetensors(QByteArrayView(out.constData(), rawSize), source);

    StreamingUngrouper ungrouper(header, out.data());
    constexpr qint64 kWindowBytes = 128 * 1024; // stays in L2 between zstd and the scatter
    thread_local std::unique_ptr<char[]> window(new char[kWindowBytes]);
    for (qint64 produced = header.dataOffset; produced < rawSize;) {
        const qint64 n = frame.read(window.get(), std::min(kWindowBytes, rawSize - produced));
        if (n == 0)
            throw truncated();
        ungrouper.feed(window.get(), n);
        produced += n;
    }
    frame.requireEnd();
    return out;
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
    const QByteArray group = grouped(file, parseSafetensors(file, QStringLiteral("chunk")));

    QByteArray out(qsizetype(ZSTD_compressBound(size_t(group.size()))), Qt::Uninitialized);
    const size_t written = ZSTD_compress(out.data(), size_t(out.size()), group.constData(),
                                         size_t(group.size()), level);
    if (ZSTD_isError(written))
        throw Error(QStringLiteral("zstd compression failed: %1").arg(QLatin1String(ZSTD_getErrorName(written))));
    out.resize(qsizetype(written));
    return out;
}

QByteArray decodeChunk(QByteArrayView stored, ChunkCodec codec, qint64 rawSize, const QString &source,
                       const ChunkBufferAllocator &allocate)
{
    if (codec == ChunkCodec::None) {
        if (stored.size() != rawSize)
            throw Error(QStringLiteral("%1: %2 bytes stored, manifest says %3").arg(source).arg(stored.size()).arg(rawSize));
        return stored.toByteArray();
    }
    return decodeZstdByteGroup(stored, rawSize, source, allocate);
}

} // namespace surfing
