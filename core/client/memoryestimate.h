// What a run will take in memory at its peak, before it starts: the bound the client honours
// (docs/benchmarks-inference.md, "Memory"): the chunks that are not repeated layers (embeddings,
// head), the cache budget (at most every layer), the prefetch window (depth x the largest layer)
// and 200 MiB for the runtime. Compared with the memory the machine has available now.
#pragma once

#include "format/chunkmanifest.h"

#include <QString>

namespace surfing {

struct MemoryEstimate {
    qint64 nonLayerBytes = 0;  // decoded bytes of the chunks that are not repeated units
    qint64 cacheBytes = 0;     // what the client cache may hold of the layers
    qint64 prefetchBytes = 0;  // the prefetch window
    qint64 runtimeBytes = 0;   // libtorch, the application, activations
    qint64 availableBytes = -1; // what the machine has for this process; -1: unknown

    qint64 peakBytes() const { return nonLayerBytes + cacheBytes + prefetchBytes + runtimeBytes; }
    bool isKnownToFit() const { return availableBytes >= 0 && peakBytes() <= availableBytes; }
    bool isKnownNotToFit() const { return availableBytes >= 0 && peakBytes() > availableBytes; }
    // "peak ≈ 836.0 MiB (non-layer 188.0 MiB + cache 256.0 MiB + prefetch 192.0 MiB + runtime 200.0 MiB)"
    QString breakdown() const;
};

constexpr qint64 kRuntimeReserveBytes = 200LL * 1024 * 1024;

// `cacheBytes` / `cacheChunks` <= 0: no limit of that kind; `prefetchDepth` >= 0.
MemoryEstimate estimateRunMemory(const ChunkManifest &manifest, qint64 cacheBytes, int cacheChunks, int prefetchDepth,
                                 qint64 availableBytes);

// The MemAvailable line of /proc/meminfo in bytes; -1 when it is missing or malformed.
qint64 parseMemAvailable(const QByteArray &meminfo);

// What this process may still grow to: its resident memory plus what the kernel reports as
// available, never above systemMemoryBytes() (cgroup, ulimit -v). -1 where unknown.
qint64 availableMemoryBytes();

} // namespace surfing
