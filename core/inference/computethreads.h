// How many cores one inference may use (--threads, the GUI's Threads setting), and how that count
// reaches the three places that compute: the project's single-token products (split with OpenMP),
// the BLAS (prompt GEMMs) and libtorch's own intra-op pool. Internal to core/inference.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <omp.h>

namespace surfing {

// Applies `threads` (>= 1) to the products and the BLAS. libtorch's intra-op pool stays at one
// thread: its ops here are small (norms, attention of one query, softmax), and waking a second
// thread for them cost more than it saved (2 threads ran stories260K's prompt 4x slower than 1;
// docs/benchmarks-peer.md).
void setComputeThreads(int threads);
int computeThreads();

namespace detail {
// One-row products that read fewer weight bytes stay on the calling thread: waking the other
// thread costs more than it saves.
constexpr size_t kSplitMinBytes = size_t(1) << 20;
} // namespace detail

// Runs body(begin, end) over [0, outputs) for a one-row product that reads `weightBytes` of
// weights, split over computeThreads() when the weights are large enough. One core does not draw
// the memory bandwidth of two once the weights come from DRAM (1 GB model: 13.3 -> 18.8 tokens/s).
// Every output is computed by the same code whatever the split: results are bitwise the same.
template <typename Body>
void forOutputRanges(int64_t outputs, size_t weightBytes, const Body &body)
{
    const int threads = computeThreads();
    if (threads < 2 || weightBytes < detail::kSplitMinBytes || outputs < 2 * threads) {
        body(int64_t(0), outputs);
        return;
    }
#pragma omp parallel num_threads(threads)
    {
        const int64_t n = omp_get_num_threads(), t = omp_get_thread_num();
        const int64_t per = (outputs + n - 1) / n;
        const int64_t begin = std::min(outputs, t * per), end = std::min(outputs, begin + per);
        if (begin < end)
            body(begin, end);
    }
}

} // namespace surfing
