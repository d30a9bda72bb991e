// The floating-point filter of the chunk codec. Each element is rotated left by one bit, moving
// the sign bit to the bottom so the top byte holds the exponent alone, and the bytes are then
// grouped: every element's byte 0, then every byte 1, ... The exponent bytes of trained weights
// sit in a narrow range and compress; mantissa bytes are near random and do not; grouping keeps
// the two apart so zstd's entropy coder sees each stream's own statistics.
#pragma once

#include <QtGlobal>

namespace surfing {

// Writes byte b of every (rotated) element i of `in` to streams[b][i]. `elementSize` is 2, 4 or 8
// and `streams` holds that many pointers; several arrays can fill one set of streams in turn by
// advancing the pointers by their element counts.
void groupElements(const char *in, qint64 count, int elementSize, char *const *streams);
// The inverse: element i of `out` from streams[b][i].
void ungroupElements(const char *const *streams, qint64 count, int elementSize, char *out);

// One stream at a time, for a decoder that receives the grouped bytes in order and keeps no
// grouped copy: byte `byteIndex` of `count` elements of `out` from `streamBytes`. Every element
// must get its streams in order 0 .. elementSize-1: the first writes the whole element, the
// others add their byte, the last also rotates it back. After all of them `out` holds what
// ungroupElements() writes.
void ungroupStream(const char *streamBytes, qint64 count, int elementSize, int byteIndex, char *out);

// One array grouped into `out` as `elementSize` consecutive streams of `size / elementSize` bytes.
void groupBytes(const char *in, qint64 size, int elementSize, char *out);
void ungroupBytes(const char *in, qint64 size, int elementSize, char *out);

} // namespace surfing
