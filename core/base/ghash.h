// GHASH, the universal hash inside AES-GCM (NIST SP 800-38D, 6.4), over bytes fed in pieces of
// any size, on the CPU's 512-bit carry-less multiply (VPCLMULQDQ: 32 blocks per step, one
// reduction each, three multiplies per block). The keyed receipt check
// (client/receiptverifier.h) spends its time here, on every byte of every re-fetched chunk, on
// the network thread, beside compute: OpenSSL's GMAC does ~12.7 GB/s on one core of the benchmark
// machine, this ~22 (bench/bench_verify --mb 1). On the 2.6 GHz EPYC of Round 9, 18.9 GB/s with
// three multiplies against 18.2 with four: the vector ops around them (byte reversal, xors,
// loads) bound it as much as the multiplier does.
// Where the CPU lacks the instruction isAvailable() is false and callers use OpenSSL's GMAC.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace surfing {

class Ghash
{
public:
    using Block = std::array<uint8_t, 16>;

    // The CPU has VPCLMULQDQ with AVX-512 (F, BW, VL) and the OS saves those registers.
    static bool isAvailable();

    // `hashKey` is H = AES_K(0^128). Only when isAvailable().
    explicit Ghash(const Block &hashKey);

    // The additional data, in order; pieces of any size give the hash of their concatenation.
    void add(const uint8_t *bytes, size_t size);
    // GHASH_H(A, zero-padded to whole blocks, then [bits of A]_64 [0]_64): GMAC's tag is this
    // xor AES_K(J0). Once, after the last add().
    Block finish();
    // Back to no data, for the hash of other bytes under the same key.
    void reset();

private:
    void addBlocks(const uint8_t *blocks, size_t count);

    static constexpr int kPowers = 32; // blocks per aggregated step
    alignas(64) uint8_t m_powers[kPowers * 16]; // H^32 .. H^1, byte-reflected, as the step reads them
    alignas(64) uint8_t m_powerSums[kPowers * 16]; // each power's two halves xored, in both halves
    alignas(16) uint8_t m_state[16] = {};       // the running X, byte-reflected
    uint8_t m_partial[16] = {};
    size_t m_partialBytes = 0;
    uint64_t m_totalBytes = 0;
};

} // namespace surfing
