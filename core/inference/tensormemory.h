// The allocator libtorch takes tensor memory from during inference. Internal to core/inference.
//
// libtorch's default takes posix_memalign(64) blocks. glibc carves such a block out of a larger
// free one and frees the bytes before and after it as chunks of their own; small objects settle
// there, between the tensors, and freed tensors stop merging. The client keeps freed heap mapped
// (protocol/transfermemory.h: blocks below 8 MiB come from the heap, 64 MiB of free heap stays),
// so that space stayed resident: in a batch's prompt pass (512 rows, 2-6 MiB activations) the
// heap grew by a few MiB with every layer. This one takes malloc(n + 80) and aligns inside the
// block, so nothing is split off (1 GB model, batch 64: 20 MiB less peak RSS).
#pragma once

#include <cstdint>

namespace surfing {

// Makes it libtorch's CPU allocator (once per process; later calls do nothing). Tensors made
// before keep their own deleter.
void useUnsplitTensorMemory();

// Bytes of tensors it gave out that are alive now, and the most alive at once since
// resetPeakTensorBytes().
int64_t tensorBytesInUse();
int64_t peakTensorBytes();
void resetPeakTensorBytes();

} // namespace surfing
