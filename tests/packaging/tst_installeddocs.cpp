// What the .deb installs besides the programs (packaging/packaging.cmake), installed for real with
// `cmake --install BUILD --component docs|units --prefix TMP` (the .deb holds every component):
// the README with docs/ beside it so that Help › Documentation of an installed app finds it and
// every link between the documents resolves, the HAProxy example and the systemd units, at the
// paths docs/deploy.md and packaging/README.md tell administrators to use.
#include "helpdialogs.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

class TestInstalledDocs : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void helpFindsTheInstalledDocumentation();
    void linksBetweenTheDocumentsResolve();
    void examplesAndUnitsAreWhereTheDocsSay();

private:
    QTemporaryDir m_prefix;
    QString m_doc;
};

void TestInstalledDocs::initTestCase()
{
    QVERIFY(m_prefix.isValid());
    for (const QString &component : {QStringLiteral("docs"), QStringLiteral("units")}) {
        QProcess install;
        install.start(QStringLiteral(SURFING_CMAKE_COMMAND), {QStringLiteral("--install"), QStringLiteral(SURFING_BUILD_DIR),
                                                              QStringLiteral("--component"), component,
                                                              QStringLiteral("--prefix"), m_prefix.path()});
        QVERIFY(install.waitForFinished(120000));
        QVERIFY2(install.exitCode() == 0, install.readAllStandardError().constData());
    }
    QVERIFY(QDir(m_prefix.path()).mkpath(QStringLiteral("bin")));
    m_doc = m_prefix.filePath(QStringLiteral("share/doc/surfing"));
}

void TestInstalledDocs::helpFindsTheInstalledDocumentation()
{
    const QUrl url = surfing::ui::documentationUrl(m_prefix.filePath(QStringLiteral("bin")));
    QCOMPARE(url, QUrl::fromLocalFile(m_doc + QStringLiteral("/README.md")));
    QVERIFY(QFileInfo(url.toLocalFile()).size() > 1000);
    for (const QString &doc : {QStringLiteral("docs/deploy.md"), QStringLiteral("docs/protocol.md"), QStringLiteral("docs/chat-templates.md"),
                               QStringLiteral("docs/screenshots/playground.png")})
        QVERIFY2(QFileInfo::exists(m_doc + QLatin1Char('/') + doc), qPrintable(doc));
}

// Every relative link of every installed document ([text](target), images too) names a file
// that was installed with it.
void TestInstalledDocs::linksBetweenTheDocumentsResolve()
{
    const QRegularExpression link(QStringLiteral("\\]\\(([^)\\s]+)\\)"));
    QStringList documents{m_doc + QStringLiteral("/README.md")};
    for (const QFileInfo &f : QDir(m_doc + QStringLiteral("/docs")).entryInfoList({QStringLiteral("*.md")}, QDir::Files))
        documents << f.filePath();
    QVERIFY(documents.size() > 10);
    int checked = 0;
    for (const QString &document : std::as_const(documents)) {
        QFile file(document);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QString text = QString::fromUtf8(file.readAll());
        for (const QRegularExpressionMatch &m : link.globalMatch(text)) {
            QString target = m.captured(1);
            if (target.contains(QLatin1String("://")) || target.startsWith(QLatin1Char('#')))
                continue;
            target = target.section(QLatin1Char('#'), 0, 0);
            const QString path = QDir::cleanPath(QFileInfo(document).absolutePath() + QLatin1Char('/') + target);
            QVERIFY2(QFileInfo::exists(path), qPrintable(QStringLiteral("%1 links to %2, not installed").arg(document, target)));
            ++checked;
        }
    }
    QVERIFY(checked >= 5);
}

// docs/deploy.md and packaging/README.md name installed files by their path on the machine
// (/usr/..., /lib/systemd/...): each one is in the package.
void TestInstalledDocs::examplesAndUnitsAreWhereTheDocsSay()
{
    const QStringList expected{QStringLiteral("/usr/share/doc/surfing/examples/haproxy/surfing.cfg"),
                               QStringLiteral("/lib/systemd/system/surfing-serve@.service"),
                               QStringLiteral("/lib/systemd/system/surfing-server.service")};
    // CPack installs DESTINATION lib/... under the package prefix /usr; Debian 12 is merged-/usr,
    // so /lib/systemd/system is /usr/lib/systemd/system.
    auto installed = [this](QString path) {
        if (path.startsWith(QLatin1String("/usr/")))
            path = path.mid(4);
        return m_prefix.path() + path;
    };
    for (const QString &path : expected)
        QVERIFY2(QFileInfo(installed(path)).size() > 100, qPrintable(path));
    const QString source = QStringLiteral(SURFING_SOURCE_DIR);
    for (const QString &doc : {QStringLiteral("/docs/deploy.md"), QStringLiteral("/packaging/README.md")}) {
        QFile file(source + doc);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QString text = QString::fromUtf8(file.readAll());
        const QRegularExpression named(QStringLiteral("(/usr/share/doc/surfing/[^\\s`)]+|/lib/systemd/system/surfing[^\\s`)]+)"));
        for (const QRegularExpressionMatch &m : named.globalMatch(text)) {
            const QString path = m.captured(1);
            if (path.contains(QLatin1Char('{'))) // a pattern such as {scalable,256x256}
                continue;
            QVERIFY2(QFileInfo::exists(installed(path)), qPrintable(QStringLiteral("%1 names %2, which the package does not install").arg(doc, path)));
        }
        for (const QString &path : expected.mid(0, 2))
            QVERIFY2(text.contains(path), qPrintable(QStringLiteral("%1 does not say where the package puts %2").arg(doc, QFileInfo(path).fileName())));
    }
}

QTEST_MAIN(TestInstalledDocs)
#include "tst_installeddocs.moc"
