#include "inference/tensormemory.h"

#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

namespace surfing {
namespace {

constexpr size_t kAlignment = 64; // libtorch's (c10::gAlignment): vector loads of any width

// Before the data: the offset back to malloc's block and the size asked for.
struct Header {
    size_t offset;
    size_t bytes;
};
constexpr size_t kSlack = sizeof(Header) + kAlignment - 1;

std::atomic<int64_t> g_inUse{0};
std::atomic<int64_t> g_peak{0};

void count(int64_t delta)
{
    const int64_t now = g_inUse.fetch_add(delta, std::memory_order_relaxed) + delta;
    int64_t peak = g_peak.load(std::memory_order_relaxed);
    while (now > peak && !g_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
}

void freeTensor(void *data)
{
    if (!data)
        return;
    const Header *header = static_cast<const Header *>(data) - 1;
    count(-int64_t(header->bytes));
    std::free(static_cast<char *>(data) - header->offset);
}

class UnsplitAllocator final : public c10::Allocator
{
public:
    c10::DataPtr allocate(size_t bytes) const override
    {
        if (bytes == 0) // as libtorch's own: no memory for empty tensors
            return {nullptr, nullptr, &freeTensor, c10::Device(c10::DeviceType::CPU)};
        void *block = std::malloc(bytes + kSlack);
        TORCH_CHECK(block, "out of memory: could not allocate ", bytes, " bytes for a tensor");
        const uintptr_t start = reinterpret_cast<uintptr_t>(block);
        const uintptr_t aligned = (start + sizeof(Header) + kAlignment - 1) & ~uintptr_t(kAlignment - 1);
        void *data = reinterpret_cast<void *>(aligned);
        *(static_cast<Header *>(data) - 1) = Header{size_t(aligned - start), bytes};
        count(int64_t(bytes));
        return {data, data, &freeTensor, c10::Device(c10::DeviceType::CPU)};
    }

    c10::DeleterFnPtr raw_deleter() const override { return &freeTensor; }
};

} // namespace

void useUnsplitTensorMemory()
{
    static std::once_flag once;
    std::call_once(once, [] {
        static UnsplitAllocator allocator;
        c10::SetCPUAllocator(&allocator, /*priority*/ 1);
    });
}

int64_t tensorBytesInUse()
{
    return g_inUse.load(std::memory_order_relaxed);
}

int64_t peakTensorBytes()
{
    return g_peak.load(std::memory_order_relaxed);
}

void resetPeakTensorBytes()
{
    g_peak.store(g_inUse.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

} // namespace surfing
