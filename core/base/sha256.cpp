#include "base/sha256.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace surfing {

namespace {
// By default OpenSSL frees every thread's state from an atexit() handler. A worker thread that
// hashed (a QThreadPool thread: QThread::wait() returns before its thread-exit destructors ran)
// can free the same state at that moment: "double free" after `run` printed its result, about
// once in 40 runs. Every OpenSSL user here links this file, and this runs before main(), so it is
// the first initialisation and the flag holds; the kernel reclaims the memory at exit anyway.
const bool kOpenSslKeepsItsStateUntilExit = OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr) == 1;
} // namespace

struct Sha256::State {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    ~State() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : m_state(std::make_unique<State>())
{
    EVP_DigestInit_ex(m_state->ctx, EVP_sha256(), nullptr);
}

Sha256::~Sha256() = default;

void Sha256::addData(QByteArrayView data)
{
    EVP_DigestUpdate(m_state->ctx, data.data(), size_t(data.size()));
}

QByteArray Sha256::resultHex()
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(m_state->ctx, digest, &length);
    return QByteArray(reinterpret_cast<const char *>(digest), int(length)).toHex();
}

QByteArray Sha256::hashHex(QByteArrayView data)
{
    Sha256 hash;
    hash.addData(data);
    return hash.resultHex();
}

} // namespace surfing
