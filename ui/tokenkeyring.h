// A secret (the remote server's token) in the system keyring: the Secret Service (GNOME Keyring,
// KeePassXC) or KWallet through QtKeychain, never in Surfing's settings file, not even as a
// fallback. Every call is asynchronous and ends in exactly one signal. Without a keyring (no
// session bus, as over SSH or in CI) the call fails at once with the reason; a keyring that does
// not answer within timeoutMs() fails too, and a store that completes after that is undone, so
// what the window said stays true.
#pragma once

#include <QObject>
#include <QString>

namespace QKeychain {
class Job;
}

namespace surfing::ui {

class TokenKeyring : public QObject
{
    Q_OBJECT
public:
    enum class Operation { Store, Load, Remove };
    Q_ENUM(Operation)

    explicit TokenKeyring(const QString &service, QObject *parent = nullptr);

    void store(const QString &key, const QString &secret);
    void load(const QString &key);
    void remove(const QString &key);

    // Long enough to type the keyring's password when it asks for it.
    void setTimeoutMs(int ms) { m_timeoutMs = ms; }
    int timeoutMs() const { return m_timeoutMs; }

Q_SIGNALS:
    void stored(const QString &key);
    void loaded(const QString &key, const QString &secret); // empty: nothing stored under key
    void removed(const QString &key);
    void failed(surfing::ui::TokenKeyring::Operation operation, const QString &key, const QString &message);

private:
    void watch(QKeychain::Job *job, Operation operation, const QString &key);
    void finish(QKeychain::Job *job, Operation operation, const QString &key);

    QString m_service;
    int m_timeoutMs = 60000;
};

} // namespace surfing::ui
