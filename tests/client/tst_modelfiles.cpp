// config.json and the tokenizer files are in the manifest with their SHA-256 and are checked like
// chunks wherever they are used: `verify`, `fetch`, `run --server` and `run --local` all refuse
// a config.json changed after chunking (issue 10: a changed rms_norm_eps silently changed the output).
#include "serveprocess.h"
#include "testsupport.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

using namespace surfing::test;

class TestModelFiles : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        if (sharedModel("stories260K").isEmpty())
            QSKIP("../shared/models is not beside the checkout");
        QVERIFY(m_tmp.isValid());
        QVERIFY(chunkSharedModel("stories260K", m_tmp.filePath("good")));
        QVERIFY(chunkSharedModel("stories260K", m_tmp.filePath("changed")));
        // Same length, another epsilon: only the hash tells.
        const QString config = m_tmp.filePath("changed/config.json");
        QByteArray text = readFile(config);
        QVERIFY(text.contains("\"rms_norm_eps\": 1e-05"));
        text.replace("\"rms_norm_eps\": 1e-05", "\"rms_norm_eps\": 1e-01");
        QFile f(config);
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(text);
    }

    void manifestListsFilesWithHashes()
    {
        const QByteArray manifest = readFile(m_tmp.filePath("good/chunk_info.json"));
        QVERIFY2(manifest.contains("\"name\": \"config.json\""), manifest.constData());
        QVERIFY(manifest.contains("\"name\": \"tokenizer.json\""));
        QVERIFY(manifest.contains("\"format_version\": 2"));
        QCOMPARE(runCli({"verify", m_tmp.filePath("good")}).exitCode, 0);
    }

    void verifyNamesAChangedConfig()
    {
        const CliResult r = runCli({"verify", m_tmp.filePath("changed")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("BAD config.json: file 'config.json'") && r.err.contains("SHA-256 mismatch"), r.err.constData());
    }

    void localRunRefusesAChangedConfig()
    {
        const QStringList args{"run", "--local", "", "--prompt", "Once", "--max-tokens", "2"};
        QStringList good = args, changed = args;
        good[2] = m_tmp.filePath("good");
        changed[2] = m_tmp.filePath("changed");
        QCOMPARE(runCli(good).exitCode, 0);
        const CliResult r = runCli(changed);
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("file 'config.json'") && r.err.contains("SHA-256 mismatch"), r.err.constData());
    }

    void fetchAndRemoteRunRefuseAChangedConfig()
    {
        ServeProcess server;
        QVERIFY(server.start({m_tmp.filePath("changed")}));
        const QString url = server.url().toString();
        const CliResult fetched = runCli({"fetch", "--server", url, "--all", "-o", m_tmp.filePath("mirror")});
        QCOMPARE(fetched.exitCode, 1);
        QVERIFY2(fetched.err.contains("file 'config.json'") && fetched.err.contains("SHA-256 mismatch"), fetched.err.constData());
        QVERIFY(!QFileInfo::exists(m_tmp.filePath("mirror")));

        const CliResult run = runCli({"run", "--server", url, "--prompt", "Once", "--max-tokens", "2"});
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains("file 'config.json'") && run.err.contains("SHA-256 mismatch"), run.err.constData());
    }

    void fetchedMirrorKeepsTheHashes()
    {
        ServeProcess server;
        QVERIFY(server.start({m_tmp.filePath("good")}));
        const QString mirror = m_tmp.filePath("good-mirror");
        const CliResult fetched = runCli({"fetch", "--server", server.url().toString(), "--all", "-o", mirror});
        QVERIFY2(fetched.exitCode == 0, fetched.err.constData());
        QCOMPARE(readFile(mirror + "/chunk_info.json"), readFile(m_tmp.filePath("good/chunk_info.json")));
        QCOMPARE(runCli({"verify", mirror}).exitCode, 0);
    }

private:
    QTemporaryDir m_tmp;
};

QTEST_GUILESS_MAIN(TestModelFiles)
#include "tst_modelfiles.moc"
