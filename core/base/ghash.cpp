#include "base/ghash.h"

#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SURFING_GHASH_X86 1
// GCC 12 reports its own _mm512_undefined_*() self-initialisation as uninitialised (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#define SURFING_CLMUL512 __attribute__((target("avx512f,avx512bw,avx512vl,vpclmulqdq,pclmul,ssse3,sse4.1")))
#else
#define SURFING_GHASH_X86 0
#endif

namespace surfing {

#if SURFING_GHASH_X86
namespace {

// GCM's field is bit-reflected. Blocks are byte-reversed on load, so that a carry-less product
// of two blocks is the reflected product shifted by one bit (Gueron and Kounavis, "Intel
// Carry-Less Multiplication Instruction and its Usage for Computing the GCM Mode", rev. 2.02,
// algorithms 1-5); reduce() shifts it back and reduces modulo x^128 + x^7 + x^2 + x + 1.
SURFING_CLMUL512 inline __m128i byteReversed(__m128i x)
{
    return _mm_shuffle_epi8(x, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
}

// The 256-bit product [hi:lo] (middle terms folded in) of byte-reversed operands -> their
// byte-reversed field product.
SURFING_CLMUL512 inline __m128i reduce(__m128i lo, __m128i hi)
{
    // [hi:lo] <<= 1
    __m128i carryLo = _mm_srli_epi32(lo, 31);
    __m128i carryHi = _mm_srli_epi32(hi, 31);
    lo = _mm_slli_epi32(lo, 1);
    hi = _mm_slli_epi32(hi, 1);
    const __m128i across = _mm_srli_si128(carryLo, 12);
    carryHi = _mm_slli_si128(carryHi, 4);
    carryLo = _mm_slli_si128(carryLo, 4);
    lo = _mm_or_si128(lo, carryLo);
    hi = _mm_or_si128(_mm_or_si128(hi, carryHi), across);
    // Reduction, first phase
    __m128i t = _mm_xor_si128(_mm_xor_si128(_mm_slli_epi32(lo, 31), _mm_slli_epi32(lo, 30)), _mm_slli_epi32(lo, 25));
    const __m128i spill = _mm_srli_si128(t, 4);
    lo = _mm_xor_si128(lo, _mm_slli_si128(t, 12));
    // second phase
    t = _mm_xor_si128(_mm_xor_si128(_mm_srli_epi32(lo, 1), _mm_srli_epi32(lo, 2)), _mm_srli_epi32(lo, 7));
    t = _mm_xor_si128(t, spill);
    return _mm_xor_si128(hi, _mm_xor_si128(lo, t));
}

SURFING_CLMUL512 inline __m128i multiply(__m128i a, __m128i b)
{
    __m128i lo = _mm_clmulepi64_si128(a, b, 0x00);
    __m128i hi = _mm_clmulepi64_si128(a, b, 0x11);
    const __m128i mid = _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x01), _mm_clmulepi64_si128(a, b, 0x10));
    lo = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
    hi = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));
    return reduce(lo, hi);
}

SURFING_CLMUL512 inline __m128i foldLanes(__m512i v)
{
    return _mm_xor_si128(_mm_xor_si128(_mm512_extracti32x4_epi32(v, 0), _mm512_extracti32x4_epi32(v, 1)),
                         _mm_xor_si128(_mm512_extracti32x4_epi32(v, 2), _mm512_extracti32x4_epi32(v, 3)));
}

// X = (X xor b1) H^32 xor b2 H^31 xor ... xor b32 H, one reduction for the 32 blocks. Three
// multiplies per block, not four (Karatsuba): the middle term of a.b is
// (a0 xor a1)(b0 xor b1) xor a0 b0 xor a1 b1, summed over the blocks before it is folded in.
// `powerSums` holds h0 xor h1 of each power in both halves of its lane.
SURFING_CLMUL512 __m128i step32(__m128i x, const uint8_t *blocks, const uint8_t *powers, const uint8_t *powerSums)
{
    const __m512i reverse = _mm512_broadcast_i32x4(_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    __m512i lo = _mm512_setzero_si512(), sums = _mm512_setzero_si512(), hi = _mm512_setzero_si512();
    for (int j = 0; j < 8; ++j) {
        __m512i d = _mm512_shuffle_epi8(_mm512_loadu_si512(blocks + 64 * j), reverse);
        if (j == 0)
            d = _mm512_xor_si512(d, _mm512_zextsi128_si512(x));
        const __m512i h = _mm512_load_si512(powers + 64 * j);
        const __m512i dSum = _mm512_xor_si512(d, _mm512_shuffle_epi32(d, _MM_PERM_BADC));
        lo = _mm512_xor_si512(lo, _mm512_clmulepi64_epi128(d, h, 0x00));
        hi = _mm512_xor_si512(hi, _mm512_clmulepi64_epi128(d, h, 0x11));
        sums = _mm512_xor_si512(sums, _mm512_clmulepi64_epi128(dSum, _mm512_load_si512(powerSums + 64 * j), 0x00));
    }
    const __m128i l = foldLanes(lo), h = foldLanes(hi);
    const __m128i m = _mm_xor_si128(foldLanes(sums), _mm_xor_si128(l, h));
    return reduce(_mm_xor_si128(l, _mm_slli_si128(m, 8)), _mm_xor_si128(h, _mm_srli_si128(m, 8)));
}

SURFING_CLMUL512 void computePowers(const uint8_t *hashKey, uint8_t *powers, uint8_t *powerSums, int count)
{
    const __m128i h = byteReversed(_mm_loadu_si128(reinterpret_cast<const __m128i *>(hashKey)));
    __m128i p = h;
    for (int k = 1; k <= count; ++k) { // H^k goes where block count - k of a step is read
        _mm_storeu_si128(reinterpret_cast<__m128i *>(powers + 16 * (count - k)), p);
        const __m128i sum = _mm_xor_si128(p, _mm_shuffle_epi32(p, 0x4E));
        _mm_storeu_si128(reinterpret_cast<__m128i *>(powerSums + 16 * (count - k)), sum);
        p = multiply(p, h);
    }
}

SURFING_CLMUL512 void hashBlocks(uint8_t *state, const uint8_t *powers, const uint8_t *powerSums, int powerCount,
                                 const uint8_t *blocks, size_t count)
{
    __m128i x = _mm_load_si128(reinterpret_cast<const __m128i *>(state));
    for (; count >= size_t(powerCount); count -= size_t(powerCount), blocks += 16 * powerCount)
        x = step32(x, blocks, powers, powerSums);
    const __m128i h = _mm_load_si128(reinterpret_cast<const __m128i *>(powers + 16 * (powerCount - 1)));
    for (; count > 0; --count, blocks += 16)
        x = multiply(_mm_xor_si128(x, byteReversed(_mm_loadu_si128(reinterpret_cast<const __m128i *>(blocks)))), h);
    _mm_store_si128(reinterpret_cast<__m128i *>(state), x);
}

SURFING_CLMUL512 void finalState(const uint8_t *state, uint8_t *out)
{
    _mm_storeu_si128(reinterpret_cast<__m128i *>(out), byteReversed(_mm_load_si128(reinterpret_cast<const __m128i *>(state))));
}

} // namespace
#endif

bool Ghash::isAvailable()
{
#if SURFING_GHASH_X86
    // __builtin_cpu_supports also checks that the OS saves the wide registers (XCR0).
    static const bool available = __builtin_cpu_supports("vpclmulqdq") && __builtin_cpu_supports("pclmul")
                                  && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
                                  && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("ssse3");
    return available;
#else
    return false;
#endif
}

Ghash::Ghash(const Block &hashKey)
{
#if SURFING_GHASH_X86
    computePowers(hashKey.data(), m_powers, m_powerSums, kPowers);
#else
    (void)hashKey;
#endif
}

void Ghash::addBlocks(const uint8_t *blocks, size_t count)
{
#if SURFING_GHASH_X86
    hashBlocks(m_state, m_powers, m_powerSums, kPowers, blocks, count);
#else
    (void)blocks;
    (void)count;
#endif
}

void Ghash::add(const uint8_t *bytes, size_t size)
{
    m_totalBytes += size;
    if (m_partialBytes > 0) {
        const size_t n = std::min(size, sizeof m_partial - m_partialBytes);
        std::memcpy(m_partial + m_partialBytes, bytes, n);
        m_partialBytes += n;
        bytes += n;
        size -= n;
        if (m_partialBytes < sizeof m_partial)
            return;
        addBlocks(m_partial, 1);
        m_partialBytes = 0;
    }
    addBlocks(bytes, size / 16);
    m_partialBytes = size % 16;
    std::memcpy(m_partial, bytes + size - m_partialBytes, m_partialBytes);
}

void Ghash::reset()
{
    std::memset(m_state, 0, sizeof m_state);
    m_partialBytes = 0;
    m_totalBytes = 0;
}

Ghash::Block Ghash::finish()
{
    if (m_partialBytes > 0) {
        std::memset(m_partial + m_partialBytes, 0, sizeof m_partial - m_partialBytes);
        addBlocks(m_partial, 1);
        m_partialBytes = 0;
    }
    uint8_t lengths[16] = {}; // [bits of the additional data]_64, [bits of the ciphertext (none)]_64, big-endian
    const uint64_t bits = m_totalBytes * 8;
    for (int i = 0; i < 8; ++i)
        lengths[i] = uint8_t(bits >> (56 - 8 * i));
    addBlocks(lengths, 1);
    Block out{};
#if SURFING_GHASH_X86
    finalState(m_state, out.data());
#endif
    return out;
}

} // namespace surfing
