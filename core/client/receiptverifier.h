// Cheaper re-verification with the same guarantee. The first time a chunk's bytes arrive in this
// process they are checked against the manifest's SHA-256 (1.5 GB/s/core here, SHA-NI); the
// verifier then remembers a GMAC tag of every 256 KiB block of those bytes under a 128-bit key
// drawn from the OS's random source at start-up, which never leaves the process. Every later
// receipt of the same chunk (a re-fetch after eviction, from any server, over any connection) is
// checked block by block against those tags as it lands (base/ghash.h: ~22 GB/s/core in cache
// against OpenSSL's ~12.7 where the CPU has VPCLMULQDQ with AVX-512, OpenSSL's GMAC elsewhere;
// both give the same tag), so compute may read each block as soon as it passed, before the rest
// of the chunk is here (client/chunkarrival.h). A block that differs from the verified one passes
// with probability <= (256 KiB/16 + 2) / 2^128 per attempt, whoever sends it, because the sender
// cannot know the key (docs/protocol.md, "Threat model"). Thread-safe.
#pragma once

#include "base/ghash.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QHash>
#include <QMutex>
#include <memory>

struct evp_cipher_ctx_st;

namespace surfing {

class ReceiptVerifier
{
public:
    enum class Policy {
        KeyedAfterFirst, // SHA-256 once per chunk per process, then the keyed tag (default)
        Sha256Always,    // SHA-256 at every receipt (SURFING_VERIFY=sha256; for comparison)
    };

    struct Stats {
        qint64 sha256Bytes = 0;   // bytes hashed with SHA-256
        qint64 keyedBytes = 0;    // bytes that matched a remembered tag (up to the first that did not)
        qint64 streamedBytes = 0; // of those, checked block by block as they arrived (BlockCheck)
    };

    // The GMAC key: the random AES key and what GHASH needs of it.
    struct Key
    {
        QByteArray aes;      // 16 bytes from the OS's random source
        Ghash::Block hash{}; // H = AES_K(0^128)
        Ghash::Block mask{}; // AES_K(J0) for the fixed all-zero 96-bit IV
    };
    static Key makeKey(const QByteArray &aes); // 16 bytes; throws Error when OpenSSL fails
    static Key randomKey();

    // The keyed tag of bytes fed in order, e.g. the pieces of a block as they land, while they
    // are still in the CPU's cache: a 45 MB chunk tagged in one pass after it arrived is read back
    // from memory, at a third of the speed (bench/bench_verify --mb 45 vs --mb 1). Used by one
    // thread at a time. Never throws: when OpenSSL fails, finish() returns an empty tag, and the
    // receipt is checked the slow way.
    class Tagger
    {
    public:
        enum class Engine { Ghash, OpenSsl };
        static Engine fastestEngine(); // Ghash where Ghash::isAvailable()
        explicit Tagger(const Key &key, Engine engine = fastestEngine());
        ~Tagger();
        Tagger(const Tagger &) = delete;
        Tagger &operator=(const Tagger &) = delete;
        void add(QByteArrayView bytes);
        QByteArray finish(); // the tag (empty on failure); once, after the last add()
        void restart();      // for the tag of other bytes, after finish()
        qint64 bytes() const { return m_bytes; }

    private:
        evp_cipher_ctx_st *m_ctx = nullptr; // Engine::OpenSsl
        std::unique_ptr<Ghash> m_ghash;     // Engine::Ghash
        Ghash::Block m_mask{};
        bool m_ok = false;
        qint64 m_bytes = 0;
    };

    // Blocks of this many bytes (the last one shorter) are tagged and checked one by one.
    static constexpr qint64 kBlockBytes = 256 * 1024;

    // A receipt of a chunk whose block tags are remembered, checked block by block as its bytes
    // are fed in order (pieces of any size, on the thread that receives them).
    class BlockCheck
    {
    public:
        // `tags` of the `verifiedSize` bytes that passed SHA-256; `size`: this receipt's.
        BlockCheck(const Key &key, QByteArray tags, qint64 verifiedSize, qint64 size);
        // Returns how many leading bytes are now known to equal the verified ones: whole blocks,
        // and the whole receipt once its last byte matched. It stops growing at the first block
        // that differs (or more bytes than the chunk has).
        qint64 add(QByteArrayView bytes);
        qint64 checkedBytes() const { return m_checked; }
        bool differs() const { return m_differs; }
        bool matchedAll() const { return !m_differs && m_checked == m_size; }

    private:
        Tagger m_tagger;
        QByteArray m_tags; // 16 bytes per block
        qint64 m_size = 0;
        qint64 m_fed = 0;
        qint64 m_checked = 0;
        bool m_differs = false;
    };

    explicit ReceiptVerifier(Policy policy = Policy::KeyedAfterFirst);
    // The process's verifier (the policy read once from SURFING_VERIFY).
    static ReceiptVerifier &instance();

    void setPolicy(Policy policy);
    Policy policy() const;

    // True when `stored` are exactly the bytes that earlier passed verify() for `sha256Hex`.
    // False when no tag is remembered or the bytes differ: then SHA-256 decides.
    bool matchesEarlierReceipt(QByteArrayView stored, const QByteArray &sha256Hex);
    // The check of a `size`-byte receipt of the chunk whose SHA-256 is `sha256Hex` when its
    // block tags are remembered (a re-receipt under the keyed policy), else nullptr: then
    // verify() runs as ever.
    std::unique_ptr<BlockCheck> startBlockCheck(const QByteArray &sha256Hex, qint64 size) const;
    // True when every byte fed to `check` matched: the same guarantee as matchesEarlierReceipt().
    // Counts the receipt in the stats either way.
    bool finishBlockCheck(const BlockCheck &check);
    // The full check: SHA-256 of `stored` equals `sha256Hex` (lower-case hex). Remembers a tag on
    // success under the keyed policy. Returns the actual SHA-256 (hex) for error messages.
    bool verify(QByteArrayView stored, const QByteArray &sha256Hex, QByteArray *actualHex = nullptr);

    Stats stats() const;
    void forget(); // drops every remembered tag (tests)

private:
    // The tag of every kBlockBytes block of `bytes`, 16 bytes each.
    QByteArray blockTagsOf(QByteArrayView bytes) const;

    mutable QMutex m_mutex;
    Key m_key;
    Policy m_policy = Policy::KeyedAfterFirst;
    struct Remembered {
        qint64 size = 0;
        QByteArray blockTags;
    };
    QHash<QByteArray, Remembered> m_tags; // manifest SHA-256 (hex) -> tags of the verified bytes
    Stats m_stats;
};

} // namespace surfing
