#include "protocol/transfermemory.h"

#include <atomic>
#include <limits>
#include <mutex>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace surfing::protocol {

namespace {
std::atomic<bool> thresholdsSet{false};
}

void keepTransferMemoryResident()
{
#if defined(__GLIBC__)
    static std::once_flag once;
    std::call_once(once, [] {
        // Setting either turns off glibc's dynamic thresholds, so both are set.
        mallopt(M_MMAP_THRESHOLD, int(kMmapThresholdBytes));
        mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
        thresholdsSet = true;
    });
#endif
}

qint64 ownMappingMinBytes()
{
#if defined(__GLIBC__)
    return thresholdsSet ? kMmapThresholdBytes : qint64(32) * 1024 * 1024;
#else
    return std::numeric_limits<qint64>::max();
#endif
}

} // namespace surfing::protocol
