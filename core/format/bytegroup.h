// Byte grouping ("shuffle"): for elements of k bytes, write every element's byte 0, then every
// byte 1, ... The exponent bytes of floats then sit together and compress; mantissas do not.
#pragma once

#include <QtGlobal>

namespace surfing {

// `size` must be a multiple of `elementSize`; `in` and `out` must not overlap.
void groupBytes(const char *in, qint64 size, int elementSize, char *out);
void ungroupBytes(const char *in, qint64 size, int elementSize, char *out);

} // namespace surfing
