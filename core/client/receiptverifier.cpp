#include "client/receiptverifier.h"

#include "base/error.h"
#include "base/sha256.h"

#include <QLoggingCategory>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <memory>

Q_LOGGING_CATEGORY(lcVerify, "surfing.verify")

namespace surfing {
namespace {

constexpr int kKeyBytes = 16;
constexpr int kTagBytes = 16;

// The block tags of `size` bytes: a tag for each block of ReceiptVerifier::kBlockBytes, the last
// one shorter.
qint64 blockTagBytes(qint64 size)
{
    constexpr qint64 block = ReceiptVerifier::kBlockBytes;
    return (size + block - 1) / block * kTagBytes;
}

// EVP takes int lengths: feed the bytes in pieces below 2^31.
constexpr qsizetype kPieceBytes = qsizetype(1) << 30;

ReceiptVerifier::Policy policyFromEnvironment()
{
    const QByteArray value = qgetenv("SURFING_VERIFY").trimmed().toLower();
    if (value == "sha256")
        return ReceiptVerifier::Policy::Sha256Always;
    if (!value.isEmpty() && value != "keyed")
        qCWarning(lcVerify).noquote() << "SURFING_VERIFY must be 'keyed' or 'sha256', got" << value << "; using 'keyed'";
    return ReceiptVerifier::Policy::KeyedAfterFirst;
}

} // namespace

ReceiptVerifier::Key ReceiptVerifier::randomKey()
{
    QByteArray aes(kKeyBytes, Qt::Uninitialized);
    if (RAND_bytes(reinterpret_cast<unsigned char *>(aes.data()), kKeyBytes) != 1)
        throw Error(QStringLiteral("the OS random source gave no key for chunk verification"));
    return makeKey(aes);
}

// AES_K(0^128) and AES_K(J0) (J0 = the all-zero IV, then 0x00000001).
ReceiptVerifier::Key ReceiptVerifier::makeKey(const QByteArray &aes)
{
    Key key;
    key.aes = aes;
    unsigned char in[32] = {};
    in[31] = 1;
    unsigned char out[32];
    int outLength = 0;
    const std::unique_ptr<EVP_CIPHER_CTX, void (*)(EVP_CIPHER_CTX *)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
    const bool ok = ctx && aes.size() == kKeyBytes && EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_ecb(), nullptr, reinterpret_cast<const unsigned char *>(key.aes.constData()), nullptr) == 1
                    && EVP_CIPHER_CTX_set_padding(ctx.get(), 0) == 1 && EVP_EncryptUpdate(ctx.get(), out, &outLength, in, sizeof in) == 1
                    && outLength == int(sizeof out);
    if (!ok)
        throw Error(QStringLiteral("OpenSSL could not derive the GMAC key for chunk verification"));
    std::copy(out, out + 16, key.hash.begin());
    std::copy(out + 16, out + 32, key.mask.begin());
    return key;
}

ReceiptVerifier::ReceiptVerifier(Policy policy) : m_key(randomKey()), m_policy(policy)
{
}

ReceiptVerifier &ReceiptVerifier::instance()
{
    static ReceiptVerifier verifier(policyFromEnvironment());
    return verifier;
}

void ReceiptVerifier::setPolicy(Policy policy)
{
    QMutexLocker lock(&m_mutex);
    m_policy = policy;
}

ReceiptVerifier::Policy ReceiptVerifier::policy() const
{
    QMutexLocker lock(&m_mutex);
    return m_policy;
}

// GMAC: AES-128-GCM with the bytes as additional authenticated data and nothing encrypted. The
// tag is GHASH_H(bytes, length) xor AES_K(IV) with H = AES_K(0); one fixed IV is fine because
// the tags are only ever compared inside this process, never shown to anyone. GCM takes the
// additional data in pieces of any size (it carries a partial block over), so a tag made piece
// by piece equals the tag of the whole. Engine::Ghash computes the same tag: base/ghash.h's
// GHASH xor the precomputed AES_K(J0).
ReceiptVerifier::Tagger::Engine ReceiptVerifier::Tagger::fastestEngine()
{
    return Ghash::isAvailable() ? Engine::Ghash : Engine::OpenSsl;
}

ReceiptVerifier::Tagger::Tagger(const Key &key, Engine engine)
{
    if (engine == Engine::Ghash && Ghash::isAvailable()) {
        m_ghash = std::make_unique<Ghash>(key.hash);
        m_mask = key.mask;
        m_ok = true;
        return;
    }
    static const unsigned char iv[12] = {};
    m_ctx = EVP_CIPHER_CTX_new();
    m_ok = m_ctx && EVP_EncryptInit_ex(m_ctx, EVP_aes_128_gcm(), nullptr, reinterpret_cast<const unsigned char *>(key.aes.constData()), iv) == 1;
}

ReceiptVerifier::Tagger::~Tagger()
{
    EVP_CIPHER_CTX_free(m_ctx);
}

void ReceiptVerifier::Tagger::add(QByteArrayView bytes)
{
    if (m_ghash) {
        m_ghash->add(reinterpret_cast<const uint8_t *>(bytes.data()), size_t(bytes.size()));
        m_bytes += bytes.size();
        return;
    }
    int outLength = 0;
    for (qsizetype at = 0; m_ok && at < bytes.size(); at += kPieceBytes) {
        const int n = int(qMin(kPieceBytes, bytes.size() - at));
        m_ok = EVP_EncryptUpdate(m_ctx, nullptr, &outLength, reinterpret_cast<const unsigned char *>(bytes.data() + at), n) == 1;
    }
    m_bytes += bytes.size();
}

void ReceiptVerifier::Tagger::restart()
{
    m_bytes = 0;
    if (m_ghash) {
        m_ghash->reset();
        return;
    }
    static const unsigned char iv[12] = {};
    m_ok = m_ctx && EVP_EncryptInit_ex(m_ctx, nullptr, nullptr, nullptr, iv) == 1;
}

QByteArray ReceiptVerifier::Tagger::finish()
{
    if (m_ghash) {
        const Ghash::Block hash = m_ghash->finish();
        QByteArray tag(kTagBytes, Qt::Uninitialized);
        for (int i = 0; i < kTagBytes; ++i)
            tag[i] = char(hash[size_t(i)] ^ m_mask[size_t(i)]);
        return tag;
    }
    unsigned char none[16];
    int outLength = 0;
    QByteArray tag(kTagBytes, Qt::Uninitialized);
    m_ok = m_ok && EVP_EncryptFinal_ex(m_ctx, none, &outLength) == 1
           && EVP_CIPHER_CTX_ctrl(m_ctx, EVP_CTRL_GCM_GET_TAG, kTagBytes, tag.data()) == 1;
    return m_ok ? tag : QByteArray();
}

ReceiptVerifier::BlockCheck::BlockCheck(const Key &key, QByteArray tags, qint64 verifiedSize, qint64 size)
    : m_tagger(key), m_tags(std::move(tags)), m_size(size)
{
    // A receipt of another size cannot be the verified bytes: it fails at once.
    m_differs = size != verifiedSize || m_tags.size() != blockTagBytes(size);
}

qint64 ReceiptVerifier::BlockCheck::add(QByteArrayView bytes)
{
    while (!m_differs && !bytes.isEmpty()) {
        if (m_fed >= m_size) {
            m_differs = true; // more bytes than the chunk has
            break;
        }
        const qint64 blockEnd = qMin(m_size, (m_fed / kBlockBytes + 1) * kBlockBytes);
        const qsizetype n = qsizetype(qMin<qint64>(bytes.size(), blockEnd - m_fed));
        m_tagger.add(bytes.first(n));
        bytes = bytes.sliced(n);
        m_fed += n;
        if (m_fed < blockEnd)
            break;
        const qsizetype block = qsizetype((blockEnd - 1) / kBlockBytes);
        if (m_tagger.finish() != QByteArrayView(m_tags).sliced(block * kTagBytes, kTagBytes)) {
            m_differs = true;
            break;
        }
        m_checked = blockEnd;
        m_tagger.restart();
    }
    return m_checked;
}

QByteArray ReceiptVerifier::blockTagsOf(QByteArrayView bytes) const
{
    QByteArray tags;
    tags.reserve(blockTagBytes(bytes.size()));
    Tagger tagger(m_key);
    for (qsizetype at = 0; at < bytes.size(); at += kBlockBytes) {
        tagger.add(bytes.sliced(at, qsizetype(qMin<qint64>(kBlockBytes, bytes.size() - at))));
        const QByteArray tag = tagger.finish();
        if (tag.isEmpty())
            throw Error(QStringLiteral("OpenSSL could not compute a GMAC tag for chunk verification"));
        tags.append(tag);
        tagger.restart();
    }
    return tags;
}

std::unique_ptr<ReceiptVerifier::BlockCheck> ReceiptVerifier::startBlockCheck(const QByteArray &sha256Hex, qint64 size) const
{
    QMutexLocker lock(&m_mutex);
    const auto it = m_tags.constFind(sha256Hex);
    if (m_policy != Policy::KeyedAfterFirst || it == m_tags.constEnd())
        return nullptr;
    return std::make_unique<BlockCheck>(m_key, it->blockTags, it->size, size);
}

bool ReceiptVerifier::finishBlockCheck(const BlockCheck &check)
{
    QMutexLocker lock(&m_mutex);
    m_stats.keyedBytes += check.checkedBytes();
    m_stats.streamedBytes += check.checkedBytes();
    return check.matchedAll();
}

bool ReceiptVerifier::matchesEarlierReceipt(QByteArrayView stored, const QByteArray &sha256Hex)
{
    Remembered remembered;
    {
        QMutexLocker lock(&m_mutex);
        if (m_policy != Policy::KeyedAfterFirst)
            return false;
        remembered = m_tags.value(sha256Hex);
    }
    if (remembered.blockTags.isEmpty() || remembered.size != stored.size())
        return false;
    const bool same = blockTagsOf(stored) == remembered.blockTags;
    QMutexLocker lock(&m_mutex);
    m_stats.keyedBytes += stored.size();
    return same;
}

bool ReceiptVerifier::verify(QByteArrayView stored, const QByteArray &sha256Hex, QByteArray *actualHex)
{
    const QByteArray actual = Sha256::hashHex(stored);
    if (actualHex)
        *actualHex = actual;
    const bool ok = actual == sha256Hex;
    const bool remember = ok && policy() == Policy::KeyedAfterFirst;
    const QByteArray tags = remember ? blockTagsOf(stored) : QByteArray();
    QMutexLocker lock(&m_mutex);
    m_stats.sha256Bytes += stored.size();
    if (remember)
        m_tags.insert(sha256Hex, Remembered{stored.size(), tags});
    return ok;
}

ReceiptVerifier::Stats ReceiptVerifier::stats() const
{
    QMutexLocker lock(&m_mutex);
    return m_stats;
}

void ReceiptVerifier::forget()
{
    QMutexLocker lock(&m_mutex);
    m_tags.clear();
}

} // namespace surfing
