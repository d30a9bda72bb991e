// Buffers for whole chunks (tens of MiB), allocated so the kernel backs them with transparent
// huge pages where it allows that only on request (THP "madvise" mode, Debian's default): a
// 45 MiB chunk then takes ~23 page faults instead of ~11,500, and the copy that fills it and the
// products that read it miss the TLB far less (measured: ~6 % more fetch rate on loopback).
#pragma once

#include <QByteArray>

namespace surfing {

// An uninitialized buffer of `size` bytes; at least 4 MiB ones are advised to use huge pages.
QByteArray allocateLargeBuffer(qint64 size);

} // namespace surfing
