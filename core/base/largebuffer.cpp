#include "base/largebuffer.h"

#include <cstdint>
#ifdef __linux__
#include <sys/mman.h>
#endif

namespace surfing {

QByteArray allocateLargeBuffer(qint64 size)
{
    QByteArray bytes(size, Qt::Uninitialized);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    constexpr std::uintptr_t kHugePage = 2 * 1024 * 1024;
    if (size >= 2 * qint64(kHugePage)) {
        // Advice only: on a kernel without THP, or with it off, madvise fails and nothing changes.
        const auto begin = reinterpret_cast<std::uintptr_t>(bytes.data());
        const std::uintptr_t first = (begin + kHugePage - 1) & ~(kHugePage - 1);
        const std::uintptr_t last = (begin + std::uintptr_t(size)) & ~(kHugePage - 1);
        if (last > first)
            (void)::madvise(reinterpret_cast<void *>(first), last - first, MADV_HUGEPAGE);
    }
#endif
    return bytes;
}

} // namespace surfing
