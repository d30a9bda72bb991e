#include "format/bytegroup.h"

#include <cstring>

namespace surfing {
namespace {

// Fixed element sizes let the compiler unroll and vectorise the inner loops.
template<int K>
void group(const char *in, qint64 count, char *out)
{
    for (int b = 0; b < K; ++b) {
        char *stream = out + b * count;
        for (qint64 i = 0; i < count; ++i)
            stream[i] = in[i * K + b];
    }
}

template<int K>
void ungroup(const char *in, qint64 count, char *out)
{
    const char *streams[K];
    for (int b = 0; b < K; ++b)
        streams[b] = in + b * count;
    for (qint64 i = 0; i < count; ++i) {
        for (int b = 0; b < K; ++b)
            out[i * K + b] = streams[b][i];
    }
}

} // namespace

void groupBytes(const char *in, qint64 size, int elementSize, char *out)
{
    const qint64 count = size / elementSize;
    switch (elementSize) {
    case 2: group<2>(in, count, out); break;
    case 4: group<4>(in, count, out); break;
    case 8: group<8>(in, count, out); break;
    default: std::memcpy(out, in, size_t(size));
    }
}

void ungroupBytes(const char *in, qint64 size, int elementSize, char *out)
{
    const qint64 count = size / elementSize;
    switch (elementSize) {
    case 2: ungroup<2>(in, count, out); break;
    case 4: ungroup<4>(in, count, out); break;
    case 8: ungroup<8>(in, count, out); break;
    default: std::memcpy(out, in, size_t(size));
    }
}

} // namespace surfing
