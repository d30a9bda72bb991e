// Keeps the memory of finished transfers in the process for the next one.
//
// Every piece on its way through Qt WebSockets is copied into fresh buffers of a few hundred
// KiB (our piece message, QWebSocket's own frame copy, the socket's ring buffer; on the client
// the frame payload and the chunk being assembled). glibc hands such blocks back to the kernel
// as soon as a fetch ends (heap trim, or munmap above the mmap threshold), so the next fetch
// page-faults all of them in again. Measured with perf on a 1 MiB fetch: a third of the
// server's time was page faults inside memcpy, and the fetch took 5 ms where raw TCP took 0.4.
#pragma once

#include <QtGlobal>

namespace surfing::protocol {

// glibc's mmap threshold once keepTransferMemoryResident() ran.
constexpr qint64 kMmapThresholdBytes = 8 * 1024 * 1024;

// Raises glibc's mmap and trim thresholds (to 8 MiB and 64 MiB) once per process, so buffers
// below 8 MiB are recycled from the heap and up to 64 MiB of freed heap stays mapped. Larger
// blocks (whole chunks) still come from mmap and go back when freed. A no-op on other C
// libraries. Called by WeightServer and WeightClient; safe to call from any thread.
void keepTransferMemoryResident();

// A block allocated at once (malloc of its final size, not grown by realloc) at least this large
// is a mapping of its own, unmapped when freed: kMmapThresholdBytes once
// keepTransferMemoryResident() ran, else glibc's largest dynamic threshold (32 MiB); never
// without glibc (the largest qint64).
qint64 ownMappingMinBytes();

} // namespace surfing::protocol
