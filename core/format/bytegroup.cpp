#include "format/bytegroup.h"

#include <cstdint>
#include <cstring>

namespace surfing {
namespace {

template<typename U>
constexpr U rotateLeft(U v)
{
    return U(v << 1) | U(v >> (sizeof(U) * 8 - 1));
}

template<typename U>
constexpr U rotateRight(U v)
{
    return U(v >> 1) | U(v << (sizeof(U) * 8 - 1));
}

// Fixed element types let the compiler unroll and vectorise the loops.
template<typename U>
void group(const char *in, qint64 count, char *const *out)
{
    constexpr int K = sizeof(U);
    unsigned char *streams[K];
    for (int b = 0; b < K; ++b)
        streams[b] = reinterpret_cast<unsigned char *>(out[b]);
    for (qint64 i = 0; i < count; ++i) {
        U v;
        std::memcpy(&v, in + i * K, K);
        v = rotateLeft(v);
        for (int b = 0; b < K; ++b)
            streams[b][i] = static_cast<unsigned char>(v >> (8 * b));
    }
}

template<typename U>
void ungroup(const char *const *in, qint64 count, char *out)
{
    constexpr int K = sizeof(U);
    const unsigned char *streams[K];
    for (int b = 0; b < K; ++b)
        streams[b] = reinterpret_cast<const unsigned char *>(in[b]);
    for (qint64 i = 0; i < count; ++i) {
        U v = 0;
        for (int b = 0; b < K; ++b)
            v |= U(streams[b][i]) << (8 * b);
        v = rotateRight(v);
        std::memcpy(out + i * K, &v, K);
    }
}

template<typename U>
void ungroupOne(const unsigned char *in, qint64 count, int b, char *out)
{
    constexpr int K = sizeof(U);
    if (b == 0) {
        for (qint64 i = 0; i < count; ++i) {
            const U v = in[i];
            std::memcpy(out + i * K, &v, K);
        }
        return;
    }
    const int shift = 8 * b;
    if (b < K - 1) {
        for (qint64 i = 0; i < count; ++i) {
            U v;
            std::memcpy(&v, out + i * K, K);
            v |= U(in[i]) << shift;
            std::memcpy(out + i * K, &v, K);
        }
        return;
    }
    for (qint64 i = 0; i < count; ++i) { // the last stream: the element is whole, rotate it back
        U v;
        std::memcpy(&v, out + i * K, K);
        v = rotateRight(U(v | U(U(in[i]) << shift)));
        std::memcpy(out + i * K, &v, K);
    }
}

} // namespace

void ungroupStream(const char *streamBytes, qint64 count, int elementSize, int byteIndex, char *out)
{
    const auto *in = reinterpret_cast<const unsigned char *>(streamBytes);
    switch (elementSize) {
    case 2: ungroupOne<uint16_t>(in, count, byteIndex, out); break;
    case 4: ungroupOne<uint32_t>(in, count, byteIndex, out); break;
    case 8: ungroupOne<uint64_t>(in, count, byteIndex, out); break;
    default: std::memcpy(out, streamBytes, size_t(count * elementSize));
    }
}

void groupElements(const char *in, qint64 count, int elementSize, char *const *streams)
{
    switch (elementSize) {
    case 2: group<uint16_t>(in, count, streams); break;
    case 4: group<uint32_t>(in, count, streams); break;
    case 8: group<uint64_t>(in, count, streams); break;
    default: std::memcpy(streams[0], in, size_t(count * elementSize));
    }
}

void ungroupElements(const char *const *streams, qint64 count, int elementSize, char *out)
{
    switch (elementSize) {
    case 2: ungroup<uint16_t>(streams, count, out); break;
    case 4: ungroup<uint32_t>(streams, count, out); break;
    case 8: ungroup<uint64_t>(streams, count, out); break;
    default: std::memcpy(out, streams[0], size_t(count * elementSize));
    }
}

void groupBytes(const char *in, qint64 size, int elementSize, char *out)
{
    const qint64 count = size / elementSize;
    char *streams[8];
    for (int b = 0; b < elementSize && b < 8; ++b)
        streams[b] = out + b * count;
    groupElements(in, count, elementSize, streams);
}

void ungroupBytes(const char *in, qint64 size, int elementSize, char *out)
{
    const qint64 count = size / elementSize;
    const char *streams[8];
    for (int b = 0; b < elementSize && b < 8; ++b)
        streams[b] = in + b * count;
    ungroupElements(streams, count, elementSize, out);
}

} // namespace surfing
