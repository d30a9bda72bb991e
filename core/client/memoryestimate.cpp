#include "client/memoryestimate.h"

#include "base/bytesize.h"
#include "client/memorylimit.h"

#include <QFile>
#include <algorithm>
#include <unistd.h>

namespace surfing {

MemoryEstimate estimateRunMemory(const ChunkManifest &manifest, qint64 cacheBytes, int cacheChunks, int prefetchDepth,
                                 qint64 availableBytes, qint64 compressedCacheBytes)
{
    MemoryEstimate e;
    qint64 layerBytes = 0, largestLayer = 0, compressedBytes = 0, largestCompressed = 0;
    int layers = 0;
    for (const ManifestChunk &chunk : manifest.chunks) {
        if (chunk.codec != ChunkCodec::None)
            compressedBytes += chunk.storedBytes;
        if (chunk.index < 0) {
            e.nonLayerBytes += chunk.rawBytes;
            continue;
        }
        layerBytes += chunk.rawBytes;
        largestLayer = std::max(largestLayer, chunk.rawBytes);
        if (chunk.codec != ChunkCodec::None)
            largestCompressed = std::max(largestCompressed, chunk.storedBytes);
        ++layers;
    }
    e.cacheBytes = layerBytes;
    if (cacheBytes > 0)
        e.cacheBytes = std::min(e.cacheBytes, cacheBytes);
    if (cacheChunks > 0)
        e.cacheBytes = std::min(e.cacheBytes, qint64(std::min(cacheChunks, layers)) * largestLayer);
    const int depth = std::min(std::max(prefetchDepth, 0), layers);
    e.prefetchBytes = qint64(depth) * largestLayer;
    e.compressedCacheBytes = std::min(std::max<qint64>(compressedCacheBytes, 0), compressedBytes);
    e.decodeBytes = qint64(std::max(depth, 1)) * largestCompressed;
    e.runtimeBytes = kRuntimeReserveBytes;
    e.availableBytes = availableBytes;
    return e;
}

QString MemoryEstimate::breakdown() const
{
    QString compressed;
    if (compressedCacheBytes > 0)
        compressed += QStringLiteral(" + compressed cache %1").arg(formatByteSize(compressedCacheBytes));
    if (decodeBytes > 0)
        compressed += QStringLiteral(" + decode %1").arg(formatByteSize(decodeBytes));
    return QStringLiteral("peak \u2248 %1 (non-layer %2 + cache %3 + prefetch %4 + runtime %5%6)")
        .arg(formatByteSize(peakBytes()), formatByteSize(nonLayerBytes), formatByteSize(cacheBytes),
             formatByteSize(prefetchBytes), formatByteSize(runtimeBytes), compressed);
}

qint64 parseMemAvailable(const QByteArray &meminfo)
{
    for (const QByteArray &line : meminfo.split('\n')) {
        if (!line.startsWith("MemAvailable:"))
            continue;
        const QList<QByteArray> fields = line.mid(13).simplified().split(' ');
        bool ok = false;
        const qint64 kib = fields.value(0).toLongLong(&ok);
        if (!ok || kib < 0 || fields.value(1) != "kB" || kib > (qint64(1) << 50))
            return -1;
        return kib * 1024;
    }
    return -1;
}

qint64 availableMemoryBytes()
{
    QFile meminfo(QStringLiteral("/proc/meminfo"));
    if (!meminfo.open(QIODevice::ReadOnly))
        return -1;
    const qint64 available = parseMemAvailable(meminfo.readAll());
    if (available < 0)
        return -1;
    qint64 resident = 0;
    QFile statm(QStringLiteral("/proc/self/statm"));
    if (statm.open(QIODevice::ReadOnly))
        resident = statm.readAll().split(' ').value(1).toLongLong() * qint64(::sysconf(_SC_PAGESIZE));
    return std::min(systemMemoryBytes(), available + resident);
}

} // namespace surfing
