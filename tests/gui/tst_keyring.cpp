// Issue 14: the remote token is remembered only when the user ticks "Remember token in the system
// keyring", only in the system keyring, never in the settings file. Two worlds, one process each
// (a process keeps its first D-Bus connection):
//   tst_keyring                  no session bus at all, as in CI or over SSH: the box says why,
//                                unticks itself, the token lasts the session, nothing is written.
//   tst_keyring --secret-service a private dbus-daemon with a real gnome-keyring-daemon (unlocked
//                                with a test password): the token goes to the keyring and comes back
//                                in the next window; unticking removes it. Skipped only when those
//                                programs are not installed.
#include "errorbanner.h"
#include "guiclicks.h"
#include "guitestsupport.h"
#include "mainwindow.h"
#include "playgroundpage.h"
#include "remoteserverbox.h"
#include "serverpage.h"
#include "tokenkeyring.h"

#include <QCheckBox>
#include <QDBusConnection>
#include <QDBusConnectionInterface>
#include <QFile>
#include <QLineEdit>
#include <QProcess>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

using namespace surfing;
using namespace surfing::ui;
using namespace surfing::test;

namespace {

const QString kToken = QStringLiteral("s3cret-Token-4711");
const QString kUrl = QStringLiteral("ws://127.0.0.1:9/stories260K");

// What a person does on the Server page: URL, token, optionally the box, "Use in Playground".
void enterRemote(MainWindow &window, bool tickRemember)
{
    window.showPage(MainWindow::ServerTab);
    RemoteServerBox *box = window.serverPage()->remoteBox();
    QVERIFY(typeInto(fieldWithPlaceholder(box, QStringLiteral("ws://127.0.0.1:8765/MODEL")), kUrl));
    QVERIFY(typeInto(box->tokenField(), kToken));
    QCheckBox *remember = buttonWithText<QCheckBox>(window.serverPage(), QStringLiteral("Remember token in the system keyring"));
    QVERIFY(remember);
    QVERIFY(!remember->isChecked()); // never without asking
    if (tickRemember)
        QVERIFY(click(remember));
    QVERIFY(click(buttonWithText(box, QStringLiteral("Use in Playground"))));
}

QByteArray settingsFileBytes()
{
    QFile file(QSettings().fileName());
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

void verifyNoTokenInSettings()
{
    const QByteArray bytes = settingsFileBytes();
    QVERIFY2(!bytes.isEmpty(), qPrintable(QSettings().fileName()));
    QVERIFY2(!bytes.contains(kToken.toUtf8()), bytes.constData());
    QVERIFY(!bytes.contains(kToken.toUtf8().toBase64()));
}

} // namespace

// ---------------------------------------------------------------------------------------------
class TestKeyringMissing : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void init();
    void untickedTheKeyringIsNeverAsked();
    void withoutAKeyringTheBoxSaysWhyAndNothingIsWritten();
    void aRememberedTokenThatCannotBeReadIsSaid();

private:
    QTemporaryDir m_home;
};

void TestKeyringMissing::initTestCase()
{
    QVERIFY(m_home.isValid());
    isolateUserDirs(m_home);
    // No session bus, and none to autolaunch: a headless machine.
    qputenv("DBUS_SESSION_BUS_ADDRESS", ("unix:path=" + m_home.filePath(QStringLiteral("no-bus"))).toUtf8());
    qunsetenv("DISPLAY");
}

void TestKeyringMissing::init()
{
    QFile::remove(QSettings().fileName());
}

void TestKeyringMissing::untickedTheKeyringIsNeverAsked()
{
    {
        MainWindow window;
        window.show();
        TokenKeyring *keyring = window.serverPage()->remoteBox()->keyring();
        QSignalSpy failed(keyring, &TokenKeyring::failed);
        QSignalSpy stored(keyring, &TokenKeyring::stored);
        enterRemote(window, false);
        QCOMPARE(window.playgroundPage()->request(false).token, kToken); // used this session
        window.close();
        QTest::qWait(200);
        QCOMPARE(failed.count() + stored.count(), 0);
    }
    verifyNoTokenInSettings();
    MainWindow again;
    QVERIFY(again.serverPage()->remoteBox()->tokenField()->text().isEmpty());
}

void TestKeyringMissing::withoutAKeyringTheBoxSaysWhyAndNothingIsWritten()
{
    {
        MainWindow window;
        window.resize(1280, 800);
        window.show();
        RemoteServerBox *box = window.serverPage()->remoteBox();
        QSignalSpy failed(box->keyring(), &TokenKeyring::failed);
        enterRemote(window, true);
        // The answer comes (no hang) and says what happened and what to do.
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 30000);
        ErrorBanner *banner = window.errorBanner();
        QVERIFY(banner->isShowingError());
        QVERIFY2(banner->message().contains(QStringLiteral("not remembered")) && banner->message().contains(QStringLiteral("keyring")),
                 qPrintable(banner->message()));
        QVERIFY2(banner->action().contains(QStringLiteral("kept until Surfing closes")), qPrintable(banner->action()));
        QVERIFY(!box->rememberBox()->isChecked());
        // The token still works for this session.
        QCOMPARE(box->tokenField()->text(), kToken);
        QCOMPARE(window.playgroundPage()->request(false).token, kToken);
        window.close();
    }
    verifyNoTokenInSettings();
    QCOMPARE(QSettings().value(QStringLiteral("server/rememberRemoteToken")).toBool(), false);
    MainWindow again;
    again.show();
    QVERIFY(again.serverPage()->remoteBox()->tokenField()->text().isEmpty());
    QVERIFY(!again.serverPage()->remoteBox()->rememberBox()->isChecked());
    QTest::qWait(200);
    QVERIFY(!again.errorBanner()->isShowingError()); // nothing to read, nothing asked
}

// A token remembered on a desktop, the app started where the keyring is not: it says so.
void TestKeyringMissing::aRememberedTokenThatCannotBeReadIsSaid()
{
    QSettings().setValue(QStringLiteral("server/rememberRemoteToken"), true);
    MainWindow window;
    window.show();
    QTRY_VERIFY_WITH_TIMEOUT(window.errorBanner()->isShowingError(), 30000);
    QVERIFY2(window.errorBanner()->message().contains(QStringLiteral("could not be read")), qPrintable(window.errorBanner()->message()));
    QVERIFY(window.errorBanner()->action().contains(QStringLiteral("Token")));
    QVERIFY(window.serverPage()->remoteBox()->tokenField()->text().isEmpty());
    QVERIFY(window.serverPage()->remoteBox()->rememberBox()->isChecked()); // the choice stays the user's
    // Unticked to stop asking: the keyring is not there to take it back either, and that is said.
    QVERIFY(click(window.serverPage()->remoteBox()->rememberBox()));
    QTRY_VERIFY_WITH_TIMEOUT(window.errorBanner()->message().contains(QStringLiteral("could not be removed")), 30000);
    QVERIFY2(window.errorBanner()->action().contains(RemoteServerBox::keyringService()), qPrintable(window.errorBanner()->action()));
    QVERIFY(!window.serverPage()->remoteBox()->rememberBox()->isChecked());
    QCOMPARE(QSettings().value(QStringLiteral("server/rememberRemoteToken")).toBool(), false);
}

// ---------------------------------------------------------------------------------------------
class TestKeyringSecretService : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void theTokenGoesToTheKeyringAndComesBack();
    void untickingRemovesIt();

private:
    static QString loadDirectly();
    QTemporaryDir m_home;
    QProcess m_bus;
    QProcess m_keyring;
};

void TestKeyringSecretService::initTestCase()
{
    const QString busDaemon = QStandardPaths::findExecutable(QStringLiteral("dbus-daemon"));
    const QString keyringDaemon = QStandardPaths::findExecutable(QStringLiteral("gnome-keyring-daemon"));
    if (busDaemon.isEmpty() || keyringDaemon.isEmpty())
        QSKIP("dbus-daemon or gnome-keyring-daemon is not installed (Debian: dbus-daemon, gnome-keyring)");
    QVERIFY(m_home.isValid());
    isolateUserDirs(m_home);
    // The keyring's files and sockets stay in the temporary home.
    const QString runtime = m_home.filePath(QStringLiteral("runtime"));
    QVERIFY(QDir().mkpath(runtime));
    QFile::setPermissions(runtime, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
    qputenv("HOME", m_home.path().toUtf8());
    qputenv("XDG_RUNTIME_DIR", runtime.toUtf8());
    qunsetenv("DISPLAY"); // no prompt can pop up: the keyring is unlocked below

    m_bus.start(busDaemon, {QStringLiteral("--session"), QStringLiteral("--nofork"), QStringLiteral("--print-address=1")});
    QVERIFY(m_bus.waitForStarted());
    QTRY_VERIFY_WITH_TIMEOUT(m_bus.canReadLine(), 10000);
    const QByteArray address = m_bus.readLine().trimmed();
    QVERIFY2(address.startsWith("unix:"), address.constData());
    qputenv("DBUS_SESSION_BUS_ADDRESS", address);

    m_keyring.setProcessEnvironment(QProcessEnvironment::systemEnvironment());
    m_keyring.start(keyringDaemon, {QStringLiteral("--foreground"), QStringLiteral("--components=secrets"), QStringLiteral("--unlock")});
    QVERIFY(m_keyring.waitForStarted());
    m_keyring.write("surfing-test-password"); // --unlock: creates and unlocks the login keyring
    m_keyring.closeWriteChannel();
    QDBusConnection bus = QDBusConnection::sessionBus();
    QVERIFY2(bus.isConnected(), qPrintable(bus.lastError().message()));
    QTRY_VERIFY_WITH_TIMEOUT(bus.interface()->isServiceRegistered(QStringLiteral("org.freedesktop.secrets")).value(), 20000);
}

void TestKeyringSecretService::cleanupTestCase()
{
    for (QProcess *p : {&m_keyring, &m_bus}) {
        if (p->state() != QProcess::NotRunning) {
            p->terminate();
            if (!p->waitForFinished(5000))
                p->kill();
        }
    }
}

// What the keyring holds under Surfing's service and key, asked without any window.
QString TestKeyringSecretService::loadDirectly()
{
    TokenKeyring keyring(RemoteServerBox::keyringService());
    QSignalSpy loaded(&keyring, &TokenKeyring::loaded);
    QSignalSpy failed(&keyring, &TokenKeyring::failed);
    keyring.load(RemoteServerBox::keyringKey());
    if (!QTest::qWaitFor([&] { return loaded.count() + failed.count() > 0; }, 20000))
        return QStringLiteral("(no answer)");
    return failed.isEmpty() ? loaded.first().at(1).toString() : QStringLiteral("(failed: %1)").arg(failed.first().at(2).toString());
}

void TestKeyringSecretService::theTokenGoesToTheKeyringAndComesBack()
{
    {
        MainWindow window;
        window.show();
        RemoteServerBox *box = window.serverPage()->remoteBox();
        QSignalSpy stored(box->keyring(), &TokenKeyring::stored);
        QSignalSpy failed(box->keyring(), &TokenKeyring::failed);
        enterRemote(window, true);
        QTRY_VERIFY_WITH_TIMEOUT(stored.count() + failed.count() > 0, 30000);
        QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().at(2).toString()));
        QVERIFY(box->rememberBox()->isChecked());
        QVERIFY(!window.errorBanner()->isShowingError());
        window.close();
    }
    QCOMPARE(loadDirectly(), kToken);
    verifyNoTokenInSettings(); // remembered, and still not in the settings file
    QCOMPARE(QSettings().value(QStringLiteral("server/rememberRemoteToken")).toBool(), true);

    MainWindow again;
    again.show();
    RemoteServerBox *box = again.serverPage()->remoteBox();
    QVERIFY(box->rememberBox()->isChecked());
    QTRY_COMPARE_WITH_TIMEOUT(box->tokenField()->text(), kToken, 30000);
    QVERIFY(click(buttonWithText(box, QStringLiteral("Use in Playground"))));
    QCOMPARE(again.playgroundPage()->request(false).token, kToken);
}

void TestKeyringSecretService::untickingRemovesIt()
{
    {
        MainWindow window;
        window.show();
        RemoteServerBox *box = window.serverPage()->remoteBox();
        QTRY_COMPARE_WITH_TIMEOUT(box->tokenField()->text(), kToken, 30000);
        QSignalSpy removed(box->keyring(), &TokenKeyring::removed);
        QVERIFY(click(box->rememberBox()));
        QVERIFY(!box->rememberBox()->isChecked());
        QTRY_COMPARE_WITH_TIMEOUT(removed.count(), 1, 30000);
        window.close();
    }
    QCOMPARE(loadDirectly(), QString());
    MainWindow again;
    QVERIFY(!again.serverPage()->remoteBox()->rememberBox()->isChecked());
    QTest::qWait(200);
    QVERIFY(again.serverPage()->remoteBox()->tokenField()->text().isEmpty());
}

// `tst_keyring` tests the world without a keyring, `tst_keyring --secret-service` the one with.
int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QStringList args = app.arguments();
    const bool secretService = args.removeAll(QStringLiteral("--secret-service")) > 0;
    if (secretService) {
        TestKeyringSecretService test;
        return QTest::qExec(&test, args);
    }
    TestKeyringMissing test;
    return QTest::qExec(&test, args);
}

#include "tst_keyring.moc"
