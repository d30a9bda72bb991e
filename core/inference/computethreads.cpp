#include "inference/computethreads.h"

#include "inference/blasinfo.h"

#include <ATen/Parallel.h>

#include <atomic>

namespace surfing {
namespace {
std::atomic_int g_threads{1};
}

void setComputeThreads(int threads)
{
    threads = std::max(1, threads);
    g_threads.store(threads, std::memory_order_relaxed);
    // at::set_num_threads also rebuilds libtorch's pthreadpool, whose new workers spin for a
    // while: only a change is applied.
    if (at::get_num_threads() != 1)
        at::set_num_threads(1);
    setBlasThreads(threads);
}

int computeThreads()
{
    return g_threads.load(std::memory_order_relaxed);
}

} // namespace surfing
