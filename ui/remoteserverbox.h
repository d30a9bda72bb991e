// The Server page's "Or use a remote server" box: the server's URL (several replicas of one
// model separated by commas: the client fails over between them), its token, and "Remember
// token in the system keyring". The token is remembered only when that box is ticked, and only
// in the system keyring (TokenKeyring); the settings file keeps the URL and the choice, never the
// token. Without a keyring the box says why and unticks itself: the token lasts the session.
#pragma once

#include "tokenkeyring.h"

#include <QGroupBox>
#include <QList>
#include <QUrl>

class QCheckBox;
class QLineEdit;

namespace surfing::ui {

class RemoteServerBox : public QGroupBox
{
    Q_OBJECT
public:
    explicit RemoteServerBox(QWidget *parent = nullptr);

    QLineEdit *urlField() const { return m_url; }
    QLineEdit *tokenField() const { return m_token; }
    QCheckBox *rememberBox() const { return m_remember; }
    TokenKeyring *keyring() const { return m_keyring; }

    void loadSettings();
    void saveSettings() const;

    static QString keyringService();
    static QString keyringKey();

public Q_SLOTS:
    void use(); // "Use in Playground"

Q_SIGNALS:
    void remoteServerChosen(const QUrl &url, const QString &token, const QList<QUrl> &replicas);
    void errorOccurred(const QString &message, const QString &action);
    void statusMessage(const QString &message);

private:
    void onRememberToggled(bool remember);
    void rememberIfAsked();
    void onKeyringFailed(TokenKeyring::Operation operation, const QString &message);

    QLineEdit *m_url;
    QLineEdit *m_token;
    QCheckBox *m_remember;
    TokenKeyring *m_keyring;
    QString m_inKeyring; // what the keyring holds as far as this window knows
    bool m_loading = false;
};

} // namespace surfing::ui
