// The `surfing` executable as one meets it over SSH: --help and --version print and exit 0
// without a display, and starting it without one says what to do instead of aborting.
#include <QProcess>
#include <QtTest>

namespace {

struct Outcome {
    int exitCode = -1;
    QProcess::ExitStatus status = QProcess::CrashExit;
    QByteArray out, err;
};

Outcome runWithoutDisplay(const QStringList &args)
{
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const char *name : {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"})
        env.remove(QLatin1String(name));
    p.setProcessEnvironment(env);
    p.start(QStringLiteral(SURFING_GUI_PATH), args);
    p.waitForFinished(60000);
    return {p.exitCode(), p.exitStatus(), p.readAllStandardOutput(), p.readAllStandardError()};
}

} // namespace

class TestGuiEntry : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void versionAndHelpNeedNoDisplay()
    {
        const Outcome version = runWithoutDisplay({QStringLiteral("--version")});
        QCOMPARE(version.status, QProcess::NormalExit);
        QCOMPARE(version.exitCode, 0);
        QVERIFY2(version.out.startsWith("surfing "), version.out.constData());

        const Outcome help = runWithoutDisplay({QStringLiteral("--help")});
        QCOMPARE(help.status, QProcess::NormalExit);
        QCOMPARE(help.exitCode, 0);
        QVERIFY2(help.out.contains("MODEL_DIR") && help.out.contains("surfing-cli"), help.out.constData());
    }

    void noDisplayIsAClearError()
    {
        const Outcome o = runWithoutDisplay({});
        QCOMPARE(o.status, QProcess::NormalExit);
        QCOMPARE(o.exitCode, 1);
        QVERIFY2(o.err.contains("no display") && o.err.contains("surfing-cli"), o.err.constData());
    }
};

QTEST_GUILESS_MAIN(TestGuiEntry)
#include "tst_guientry.moc"
