#include "base/sha256.h"

#include <openssl/evp.h>

namespace surfing {

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
