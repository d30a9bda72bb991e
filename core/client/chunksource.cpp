#include "client/chunksource.h"

#include <chrono>

namespace surfing {

qint64 timelineClockNs()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch()).count();
}

} // namespace surfing
