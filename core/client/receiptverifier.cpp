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
// the tags are only ever compared inside this process, never shown to anyone.
QByteArray ReceiptVerifier::tagOf(QByteArrayView bytes) const
{
    const std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
    static const unsigned char iv[12] = {};
    int outLength = 0;
    bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_gcm(), nullptr,
                                        reinterpret_cast<const unsigned char *>(m_key.constData()), iv) == 1;
    for (qsizetype at = 0; ok && at < bytes.size(); at += kPieceBytes) {
        const int n = int(qMin(kPieceBytes, bytes.size() - at));
        ok = EVP_EncryptUpdate(ctx.get(), nullptr, &outLength, reinterpret_cast<const unsigned char *>(bytes.data() + at), n) == 1;
    }
    unsigned char none[16];
    QByteArray tag(kTagBytes, Qt::Uninitialized);
    ok = ok && EVP_EncryptFinal_ex(ctx.get(), none, &outLength) == 1
         && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, tag.data()) == 1;
    if (!ok)
        throw Error(QStringLiteral("OpenSSL could not compute a GMAC tag for chunk verification"));
    return tag;
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
