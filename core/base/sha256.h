// SHA-256 through OpenSSL (uses the CPU's SHA extensions where present).
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <memory>

namespace surfing {

class Sha256
{
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256 &) = delete;
    Sha256 &operator=(const Sha256 &) = delete;

    void addData(QByteArrayView data);
    QByteArray resultHex(); // lower-case hex, 64 characters

    static QByteArray hashHex(QByteArrayView data);

private:
    struct State;
    std::unique_ptr<State> m_state;
};

} // namespace surfing
