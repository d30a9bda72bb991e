#include "client/receiptverifier.h"

#include "base/error.h"
#include "base/sha256.h"

#include <QLoggingCategory>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>

Q_LOGGING_CATEGORY(lcVerify, "surfing.verify")

namespace surfing {
namespace {

constexpr int kKeyBytes = 16;
constexpr int kTagBytes = 16;
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

ReceiptVerifier::ReceiptVerifier(Policy policy) : m_key(kKeyBytes, Qt::Uninitialized), m_policy(policy)
{
    if (RAND_bytes(reinterpret_cast<unsigned char *>(m_key.data()), kKeyBytes) != 1)
        throw Error(QStringLiteral("the OS random source gave no key for chunk verification"));
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
// by piece equals the tag of the whole.
ReceiptVerifier::Tagger::Tagger(const QByteArray &key) : m_ctx(EVP_CIPHER_CTX_new())
{
    static const unsigned char iv[12] = {};
    m_ok = m_ctx && EVP_EncryptInit_ex(m_ctx, EVP_aes_128_gcm(), nullptr, reinterpret_cast<const unsigned char *>(key.constData()), iv) == 1;
}

ReceiptVerifier::Tagger::~Tagger()
{
    EVP_CIPHER_CTX_free(m_ctx);
}

void ReceiptVerifier::Tagger::add(QByteArrayView bytes)
{
    int outLength = 0;
    for (qsizetype at = 0; m_ok && at < bytes.size(); at += kPieceBytes) {
        const int n = int(qMin(kPieceBytes, bytes.size() - at));
        m_ok = EVP_EncryptUpdate(m_ctx, nullptr, &outLength, reinterpret_cast<const unsigned char *>(bytes.data() + at), n) == 1;
    }
    m_bytes += bytes.size();
}

QByteArray ReceiptVerifier::Tagger::finish()
{
    unsigned char none[16];
    int outLength = 0;
    QByteArray tag(kTagBytes, Qt::Uninitialized);
    m_ok = m_ok && EVP_EncryptFinal_ex(m_ctx, none, &outLength) == 1
           && EVP_CIPHER_CTX_ctrl(m_ctx, EVP_CTRL_GCM_GET_TAG, kTagBytes, tag.data()) == 1;
    return m_ok ? tag : QByteArray();
}

QByteArray ReceiptVerifier::tagOf(QByteArrayView bytes) const
{
    Tagger tagger(m_key);
    tagger.add(bytes);
    const QByteArray tag = tagger.finish();
    if (tag.isEmpty())
        throw Error(QStringLiteral("OpenSSL could not compute a GMAC tag for chunk verification"));
    return tag;
}

std::unique_ptr<ReceiptVerifier::Tagger> ReceiptVerifier::startTag(const QByteArray &sha256Hex) const
{
    {
        QMutexLocker lock(&m_mutex);
        if (m_policy != Policy::KeyedAfterFirst || !m_tags.contains(sha256Hex))
            return nullptr;
    }
    return std::make_unique<Tagger>(m_key);
}

bool ReceiptVerifier::matchesTag(const QByteArray &sha256Hex, const QByteArray &tag, qint64 bytes)
{
    QMutexLocker lock(&m_mutex);
    if (m_policy != Policy::KeyedAfterFirst)
        return false;
    const QByteArray remembered = m_tags.value(sha256Hex);
    if (remembered.isEmpty())
        return false;
    m_stats.keyedBytes += bytes;
    m_stats.streamedBytes += bytes;
    return tag == remembered;
}

bool ReceiptVerifier::matchesEarlierReceipt(QByteArrayView stored, const QByteArray &sha256Hex)
{
    QByteArray remembered;
    {
        QMutexLocker lock(&m_mutex);
        if (m_policy != Policy::KeyedAfterFirst)
            return false;
        remembered = m_tags.value(sha256Hex);
    }
    if (remembered.isEmpty())
        return false;
    const bool same = tagOf(stored) == remembered;
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
    const QByteArray tag = remember ? tagOf(stored) : QByteArray();
    QMutexLocker lock(&m_mutex);
    m_stats.sha256Bytes += stored.size();
    if (remember)
        m_tags.insert(sha256Hex, tag);
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
