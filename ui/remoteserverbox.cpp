#include "remoteserverbox.h"

#include "client/serverpool.h"
#include "tokenkeyring.h"

#include <QCheckBox>
#include <QFormLayout>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSignalBlocker>

namespace surfing::ui {

namespace {
const QString kRememberKey = QStringLiteral("server/rememberRemoteToken");
}

RemoteServerBox::RemoteServerBox(QWidget *parent)
    : QGroupBox(tr("Or use a remote server"), parent)
    , m_url(new QLineEdit(this))
    , m_token(new QLineEdit(this))
    , m_remember(new QCheckBox(tr("Remember token in the system keyring"), this))
    , m_keyring(new TokenKeyring(keyringService(), this))
{
    auto *form = new QFormLayout(this);
    m_url->setPlaceholderText(QStringLiteral("ws://127.0.0.1:8765/MODEL (replicas: ws://a:8765,ws://b:8765)"));
    m_url->setToolTip(tr("Several servers of the same model, separated by commas: the Playground spreads its "
                         "requests over them and moves a failing one's requests to the others."));
    m_token->setEchoMode(QLineEdit::PasswordEchoOnEdit);
    m_remember->setObjectName(QStringLiteral("rememberToken"));
    m_remember->setToolTip(tr("Kept by the desktop's keyring (GNOME Keyring, KWallet, KeePassXC), never in "
                              "Surfing's settings file. Unticked, the token is forgotten when Surfing closes."));
    auto *use = new QPushButton(tr("Use in Playground"), this);
    form->addRow(tr("URL"), m_url);
    form->addRow(tr("Token"), m_token);
    form->addRow(QString(), m_remember);
    form->addRow(QString(), use);
    connect(use, &QPushButton::clicked, this, &RemoteServerBox::use);
    connect(m_remember, &QCheckBox::toggled, this, &RemoteServerBox::onRememberToggled);
    connect(m_token, &QLineEdit::editingFinished, this, &RemoteServerBox::rememberIfAsked);

    connect(m_keyring, &TokenKeyring::stored, this, [this] {
        QSettings().setValue(kRememberKey, true);
        Q_EMIT statusMessage(tr("The token is remembered in the system keyring"));
    });
    connect(m_keyring, &TokenKeyring::loaded, this, [this](const QString &, const QString &secret) {
        m_loading = false;
        m_inKeyring = secret;
        if (m_token->text().isEmpty()) // typed meanwhile: what the user typed wins
            m_token->setText(secret);
    });
    connect(m_keyring, &TokenKeyring::removed, this, [this] {
        Q_EMIT statusMessage(tr("The token was removed from the system keyring"));
    });
    connect(m_keyring, &TokenKeyring::failed, this, [this](TokenKeyring::Operation operation, const QString &, const QString &message) {
        onKeyringFailed(operation, message);
    });
}

QString RemoteServerBox::keyringService()
{
    return QStringLiteral("io.github.surfing.Surfing");
}

QString RemoteServerBox::keyringKey()
{
    return QStringLiteral("remote-server-token");
}

void RemoteServerBox::use()
{
    QString error;
    QList<QUrl> urls = parseServerList({m_url->text()}, &error);
    if (urls.isEmpty() || !error.isEmpty()) {
        Q_EMIT errorOccurred(error.isEmpty() ? tr("'%1' is not a server URL.").arg(m_url->text()) : error,
                             tr("Type ws://HOST:PORT or wss://HOST:PORT, optionally followed by /MODEL; "
                                "several replicas of one model separated by commas."));
        return;
    }
    rememberIfAsked();
    const QUrl url = urls.takeFirst();
    Q_EMIT remoteServerChosen(url, m_token->text(), urls);
    Q_EMIT statusMessage(urls.isEmpty() ? tr("The Playground will use %1").arg(url.toString())
                         : urls.size() == 1 ? tr("The Playground will use %1 and %2").arg(url.toString(), urls.first().toString())
                                            : tr("The Playground will use %1 and %2 more servers").arg(url.toString()).arg(urls.size()));
}

void RemoteServerBox::onRememberToggled(bool remember)
{
    if (remember) {
        rememberIfAsked();
        return;
    }
    QSettings().setValue(kRememberKey, false);
    m_inKeyring.clear(); // ticked again before the removal is done: stored again
    m_keyring->remove(keyringKey()); // whatever an earlier session left there
}

// Ticked and a token typed that the keyring does not hold yet: hand it over (a cleared field:
// take the old one back).
void RemoteServerBox::rememberIfAsked()
{
    if (!m_remember->isChecked() || m_loading || m_token->text() == m_inKeyring)
        return;
    m_inKeyring = m_token->text();
    if (m_inKeyring.isEmpty())
        m_keyring->remove(keyringKey());
    else
        m_keyring->store(keyringKey(), m_inKeyring);
}

void RemoteServerBox::onKeyringFailed(TokenKeyring::Operation operation, const QString &message)
{
    m_loading = false;
    m_inKeyring.clear();
    if (operation == TokenKeyring::Operation::Remove) {
        Q_EMIT errorOccurred(tr("The token could not be removed from the system keyring: %1.").arg(message),
                             tr("To delete it, remove \u201c%1\u201d of \u201c%2\u201d "
                                "with the keyring's manager (Seahorse, KWalletManager).").arg(keyringKey(), keyringService()));
        return;
    }
    if (operation == TokenKeyring::Operation::Load) {
        Q_EMIT errorOccurred(tr("The remembered token could not be read: %1.").arg(message),
                             tr("Type the token in Server page \u203a \u201cOr use a remote server\u201d \u203a Token; "
                                "untick \u201cRemember token in the system keyring\u201d to stop asking the keyring."));
        return;
    }
    {
        const QSignalBlocker quiet(m_remember); // unticked because it did not work, not by the user
        m_remember->setChecked(false);
    }
    QSettings().setValue(kRememberKey, false);
    Q_EMIT errorOccurred(tr("The token was not remembered: %1.").arg(message),
                         tr("It is kept until Surfing closes, and never written to a file. To remember it, start "
                            "a keyring (GNOME Keyring or KWallet) and tick \u201cRemember token in the system keyring\u201d again."));
}

void RemoteServerBox::loadSettings()
{
    QSettings s;
    m_url->setText(s.value(QStringLiteral("server/remoteUrl")).toString());
    const bool remember = s.value(kRememberKey, false).toBool();
    {
        const QSignalBlocker quiet(m_remember);
        m_remember->setChecked(remember);
    }
    if (remember) {
        m_loading = true;
        m_keyring->load(keyringKey());
    }
}

void RemoteServerBox::saveSettings() const
{
    QSettings s;
    s.setValue(QStringLiteral("server/remoteUrl"), m_url->text());
    s.setValue(kRememberKey, m_remember->isChecked());
}

} // namespace surfing::ui
