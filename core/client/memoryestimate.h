// What a run will take in memory at its peak, before it starts: the bound the client honours
// (docs/benchmarks-inference.md, "Memory"): the chunks that are not repeated layers (embeddings,
// head), the cache budget (at most every layer), the prefetch window (depth x the largest layer)
// and 200 MiB for the runtime; with compressed chunks also the compressed cache tier's budget and
// the received bytes of the chunks being decoded (the compressed bytes live beside their decoded
// copy until decoding ends). Compared with the memory the machine has available now.
#pragma once

#include "format/chunkmanifest.h"

#include <QString>

namespace surfing {

struct MemoryEstimate {
    qint64 nonLayerBytes = 0;  // decoded bytes of the chunks that are not repeated units
    qint64 cacheBytes = 0;     // what the client cache may hold of the layers
    qint64 prefetchBytes = 0;  // the prefetch window
    qint64 runtimeBytes = 0;   // libtorch, the application, activations
    qint64 compressedCacheBytes = 0; // what the compressed tier may hold (compressed chunks only)
    qint64 decodeBytes = 0;    // compressed bytes of the chunks being decoded: max(depth, 1) x the largest
    qint64 availableBytes = -1; // what the machine has for this process; -1: unknown

    qint64 peakBytes() const
    {
        return nonLayerBytes + cacheBytes + prefetchBytes + runtimeBytes + compressedCacheBytes + decodeBytes;
    }
    bool isKnownToFit() const { return availableBytes >= 0 && peakBytes() <= availableBytes; }
    bool isKnownNotToFit() const { return availableBytes >= 0 && peakBytes() > availableBytes; }
    // "peak ≈ 836.0 MiB (non-layer 188.0 MiB + cache 256.0 MiB + prefetch 192.0 MiB + runtime 200.0 MiB)",
    // then "+ compressed cache X + decode Y" where those are not 0.
    QString breakdown() const;
};

constexpr qint64 kRuntimeReserveBytes = 200LL * 1024 * 1024;

// `cacheBytes` / `cacheChunks` <= 0: no limit of that kind; `prefetchDepth` >= 0;
// `compressedCacheBytes`: the compressed tier's budget (0: none).
MemoryEstimate estimateRunMemory(const ChunkManifest &manifest, qint64 cacheBytes, int cacheChunks, int prefetchDepth,
                                 qint64 availableBytes, qint64 compressedCacheBytes = 0);

// The MemAvailable line of /proc/meminfo in bytes; -1 when it is missing or malformed.
qint64 parseMemAvailable(const QByteArray &meminfo);

// What this process may still grow to: its resident memory plus what the kernel reports as
// available, never above systemMemoryBytes() (cgroup, ulimit -v). -1 where unknown.
qint64 availableMemoryBytes();

} // namespace surfing
