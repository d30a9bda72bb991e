// How much memory the client may hope to get, so that a server's claim about a chunk's size is
// checked before anything is allocated for it (a claim the machine cannot hold is refused with a
// message, not met with std::bad_alloc).
#pragma once

#include "format/chunkmanifest.h"

#include <QString>

namespace surfing {

// The machine's physical memory, or less when the process's cgroup or address-space limit
// (ulimit -v) is lower. Read once.
qint64 systemMemoryBytes();

// The memory one fetch of `chunk` takes at its peak: its stored bytes and, when it is decoded
// (not `stored`) from a compressed codec, two buffers of its decoded size.
qint64 chunkMemoryBytes(const ManifestChunk &chunk, bool stored);

// "1.5 GiB"
QString memorySize(qint64 bytes);

} // namespace surfing
