#include "tokenkeyring.h"

#include <QLoggingCategory>
#include <QTimer>
#include <QVariant>
#include <qt6keychain/keychain.h>

Q_LOGGING_CATEGORY(lcKeyring, "surfing.keyring")

namespace surfing::ui {

namespace {
const char *kTimedOut = "surfingTimedOut";

QString describe(const QKeychain::Job *job)
{
    const QString detail = job->errorString().isEmpty() ? TokenKeyring::tr("no reason given") : job->errorString();
    switch (job->error()) {
    case QKeychain::NoBackendAvailable:
        return TokenKeyring::tr("no system keyring is available (%1)").arg(detail);
    case QKeychain::AccessDenied:
    case QKeychain::AccessDeniedByUser:
        return TokenKeyring::tr("the system keyring refused access (%1)").arg(detail);
    default:
        return TokenKeyring::tr("the system keyring is not available (%1)").arg(detail);
    }
}
} // namespace

TokenKeyring::TokenKeyring(const QString &service, QObject *parent)
    : QObject(parent)
    , m_service(service)
{
}

void TokenKeyring::store(const QString &key, const QString &secret)
{
    auto *job = new QKeychain::WritePasswordJob(m_service);
    job->setKey(key);
    job->setTextData(secret);
    watch(job, Operation::Store, key);
}

void TokenKeyring::load(const QString &key)
{
    auto *job = new QKeychain::ReadPasswordJob(m_service);
    job->setKey(key);
    watch(job, Operation::Load, key);
}

void TokenKeyring::remove(const QString &key)
{
    auto *job = new QKeychain::DeletePasswordJob(m_service);
    job->setKey(key);
    watch(job, Operation::Remove, key);
}

// Jobs have no parent: one still waiting for the keyring when the window closes finishes and
// deletes itself (QtKeychain's callbacks still point at it), only its signal goes nowhere.
void TokenKeyring::watch(QKeychain::Job *job, Operation operation, const QString &key)
{
    job->setInsecureFallback(false); // QtKeychain's fallback is a plain-text QSettings entry
    job->setAutoDelete(true);
    auto *timer = new QTimer(job);
    timer->setSingleShot(true);
    connect(timer, &QTimer::timeout, this, [this, job, operation, key] {
        job->setProperty(kTimedOut, true);
        Q_EMIT failed(operation, key, tr("the system keyring did not answer within %1 s").arg(m_timeoutMs / 1000));
    });
    connect(job, &QKeychain::Job::finished, this, [this, operation, key](QKeychain::Job *done) { finish(done, operation, key); });
    timer->start(m_timeoutMs);
    job->start();
}

void TokenKeyring::finish(QKeychain::Job *job, Operation operation, const QString &key)
{
    if (auto *timer = job->findChild<QTimer *>())
        timer->stop();
    const bool ok = job->error() == QKeychain::NoError;
    if (job->property(kTimedOut).toBool()) {
        // Reported as failed already: a late store is taken back rather than left behind.
        if (operation == Operation::Store && ok) {
            auto *undo = new QKeychain::DeletePasswordJob(m_service);
            undo->setKey(key);
            undo->setAutoDelete(true);
            undo->start();
        }
        return;
    }
    if (operation == Operation::Load && job->error() == QKeychain::EntryNotFound) {
        Q_EMIT loaded(key, QString());
        return;
    }
    if (operation == Operation::Remove && job->error() == QKeychain::EntryNotFound) {
        Q_EMIT removed(key);
        return;
    }
    if (!ok) {
        qCWarning(lcKeyring).noquote() << key << describe(job);
        Q_EMIT failed(operation, key, describe(job));
        return;
    }
    switch (operation) {
    case Operation::Store: Q_EMIT stored(key); break;
    case Operation::Load: Q_EMIT loaded(key, static_cast<QKeychain::ReadPasswordJob *>(job)->textData()); break;
    case Operation::Remove: Q_EMIT removed(key); break;
    }
}

} // namespace surfing::ui
