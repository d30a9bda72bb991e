// surfing-cli chunk never deletes or blocks on anything but its own output: stale staging entries
// planted by someone else, a link at OUT, an OUT that holds the model, a folder that is not a
// chunk output, and inputs that are FIFOs (issue 10, "data loss").
#include "testsupport.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>
#include <sys/stat.h>
#include <unistd.h>

using namespace surfing::test;

namespace {

// Far above any pid a test machine hands out, so kill(pid, 0) says it is dead.
const QString kDeadPid = QStringLiteral("4000000");

void writeText(const QString &path, const QByteArray &text)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    QVERIFY2(f.open(QIODevice::WriteOnly), qPrintable(path));
    f.write(text);
}

QString copyModel(const QString &model, const QString &to)
{
    QDir().mkpath(to);
    const QDir from(sharedModel(model));
    for (const QString &name : from.entryList(QDir::Files))
        QFile::copy(from.filePath(name), to + "/" + name);
    return to;
}

// A directory of precious files the test checks are untouched.
QString makeVictim(const QString &path)
{
    writeText(path + "/precious.txt", "keep me");
    writeText(path + "/sub/deeper.txt", "me too");
    return path;
}

bool victimIntact(const QString &path)
{
    return readFile(path + "/precious.txt") == "keep me" && readFile(path + "/sub/deeper.txt") == "me too";
}

bool isLink(const QString &path)
{
    return QFileInfo(path).isSymLink();
}

// Runs chunk and fails the test if it has not ended within a minute (a hang, not a slow run).
CliResult runChunkOrKill(const QStringList &args)
{
    QProcess p;
    p.start(cliPath(), QStringList{"chunk"} + args);
    if (!p.waitForFinished(60000)) {
        p.kill();
        p.waitForFinished();
        return {-2, p.readAllStandardOutput(), "still running after 60 s: " + p.readAllStandardError()};
    }
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, p.readAllStandardOutput(), p.readAllStandardError()};
}

} // namespace

class TestChunkSafety : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        if (sharedModel("stories260K").isEmpty())
            QSKIP("../shared/models is not beside the checkout");
    }

    // ln -s ../victim p/.models.partial-<dead>-x; chunk M -o p/models must not empty victim/.
    void staleStagingLinksAreNeverFollowed()
    {
        QTemporaryDir tmp;
        const QString victim = makeVictim(tmp.filePath("victim"));
        QDir().mkpath(tmp.filePath("p"));
        const QString partialLink = tmp.filePath("p/.models.partial-" + kDeadPid + "-x");
        const QString oldLink = tmp.filePath("p/.models.old-" + kDeadPid + "-y");
        QVERIFY(QFile::link("../victim", partialLink));
        QVERIFY(QFile::link("../victim", oldLink));

        const CliResult r = runCli({"chunk", sharedModel("stories260K"), "-o", tmp.filePath("p/models")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY(victimIntact(victim));
        QVERIFY(isLink(partialLink) && isLink(oldLink)); // not ours: left where they are
        QVERIFY(QFileInfo::exists(tmp.filePath("p/models/chunk_info.json")));
    }

    // Only stale entries this user's surfing made (real directory, owner, marker) are removed.
    void onlyOurOwnStaleStagingIsRemoved()
    {
        QTemporaryDir tmp;
        const QString parent = tmp.filePath("p");
        const QString stranger = makeVictim(parent + "/.models.partial-" + kDeadPid + "-a"); // no marker
        const QString ours = parent + "/.models.partial-" + kDeadPid + "-b";
        writeText(ours + "/.surfing-staging", "x");
        writeText(ours + "/layer_0.safetensors", "half written");
        QString foreign;
        if (::geteuid() == 0) { // root can make a directory of another user to plant
            foreign = makeVictim(parent + "/.models.partial-" + kDeadPid + "-c");
            writeText(foreign + "/.surfing-staging", "x");
            for (const QString &p : {foreign, foreign + "/precious.txt", foreign + "/sub", foreign + "/sub/deeper.txt",
                                     foreign + "/.surfing-staging"})
                QCOMPARE(::lchown(QFile::encodeName(p).constData(), 65534, 65534), 0);
        }

        const CliResult r = runCli({"chunk", sharedModel("stories260K"), "-o", parent + "/models"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY(victimIntact(stranger));
        QVERIFY(!QFileInfo::exists(ours));
        if (!foreign.isEmpty())
            QVERIFY(victimIntact(foreign));
        QVERIFY(!QFileInfo::exists(parent + "/models/.surfing-staging")); // the marker never reaches OUT
    }

    // ln -s important out; chunk M -o out --force replaces the link, never what it points to.
    void forceReplacesALinkNotItsTarget()
    {
        QTemporaryDir tmp;
        const QString important = makeVictim(tmp.filePath("important"));
        const QString out = tmp.filePath("out");
        QVERIFY(QFile::link(important, out));

        const CliResult refused = runCli({"chunk", sharedModel("stories260K"), "-o", out});
        QCOMPARE(refused.exitCode, 1);
        QVERIFY2(refused.err.contains("already exists"), refused.err.constData());

        const CliResult r = runCli({"chunk", sharedModel("stories260K"), "-o", out, "--force"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY(victimIntact(important));
        QVERIFY(!isLink(out));
        QVERIFY(QFileInfo::exists(out + "/chunk_info.json"));
        QCOMPARE(runCli({"verify", out}).exitCode, 0);
        QCOMPARE(QDir(tmp.path()).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot),
                 (QStringList{"important", "out"}));
    }

    // chunk a/model -o a --force would delete the model and its siblings: refused, also via links.
    void forceNeverReplacesWhatHoldsTheModel_data()
    {
        QTest::addColumn<QString>("output");
        QTest::newRow("parent") << "a";
        QTest::newRow("the model itself") << "a/model";
        QTest::newRow("grandparent") << ".";
        QTest::newRow("link to the parent") << "alink";
        QTest::newRow("parent spelt with ..") << "a/model/../../a";
    }

    void forceNeverReplacesWhatHoldsTheModel()
    {
        QFETCH(QString, output);
        QTemporaryDir tmp;
        const QString model = copyModel("stories260K", tmp.filePath("a/model"));
        const QString sibling = makeVictim(tmp.filePath("a/sibling"));
        QVERIFY(QFile::link(tmp.filePath("a"), tmp.filePath("alink")));
        const QStringList modelFiles = QDir(model).entryList(QDir::Files);

        const CliResult r = runCli({"chunk", model, "-o", tmp.filePath(output), "--force"});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("holds the model being chunked"), r.err.constData());
        QVERIFY(victimIntact(sibling));
        QCOMPARE(QDir(model).entryList(QDir::Files), modelFiles);
        QCOMPARE(QDir(tmp.filePath("a")).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot),
                 (QStringList{"model", "sibling"}));
    }

    // Weights reached through a link (as in the Hugging Face cache) count as the model too.
    void forceNeverReplacesWhereLinkedWeightsLive()
    {
        QTemporaryDir tmp;
        const QString store = tmp.filePath("store");
        QCOMPARE(runCli({"chunk", sharedModel("stories260K"), "-o", store}).exitCode, 0); // a chunk output...
        QVERIFY(QFile::copy(sharedModel("stories260K") + "/model.safetensors", store + "/blob")); // ...holding weights
        QDir().mkpath(tmp.filePath("snapshot"));
        QVERIFY(QFile::copy(sharedModel("stories260K") + "/config.json", tmp.filePath("snapshot/config.json")));
        QVERIFY(QFile::link(store + "/blob", tmp.filePath("snapshot/model.safetensors")));

        const CliResult r = runCli({"chunk", tmp.filePath("snapshot"), "-o", store, "--force"});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("holds the model being chunked"), r.err.constData());
        QVERIFY(QFileInfo::exists(store + "/blob"));
    }

    // --force replaces an earlier chunk output or an empty folder, never any other folder.
    void forceOnlyReplacesChunkOutputs()
    {
        QTemporaryDir tmp;
        const QString folder = makeVictim(tmp.filePath("folder"));
        const CliResult refused = runCli({"chunk", sharedModel("stories260K"), "-o", folder, "--force"});
        QCOMPARE(refused.exitCode, 1);
        QVERIFY2(refused.err.contains("is not a chunk directory"), refused.err.constData());
        QVERIFY(victimIntact(folder));

        QDir().mkpath(tmp.filePath("empty"));
        QCOMPARE(runCli({"chunk", sharedModel("stories260K"), "-o", tmp.filePath("empty"), "--force"}).exitCode, 0);
        QVERIFY(QFileInfo::exists(tmp.filePath("empty/chunk_info.json")));
    }

    // A FIFO where a model file should be would block the read forever: refused by name.
    void nonRegularInputsAreRefused_data()
    {
        QTest::addColumn<QString>("file");
        QTest::newRow("config") << "config.json";
        QTest::newRow("weights") << "model.safetensors";
        QTest::newRow("tokenizer") << "tokenizer.json";
    }

    void nonRegularInputsAreRefused()
    {
        QFETCH(QString, file);
        QTemporaryDir tmp;
        const QString model = copyModel("stories260K", tmp.filePath("model"));
        QFile::remove(model + "/" + file);
        QCOMPARE(::mkfifo(QFile::encodeName(model + "/" + file).constData(), 0600), 0);

        const CliResult r = runChunkOrKill({model, "-o", tmp.filePath("out")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QString(model + "/" + file + ": is a FIFO, not a regular file").toUtf8()), r.err.constData());
        QVERIFY(!QFileInfo::exists(tmp.filePath("out")));
    }
};

QTEST_GUILESS_MAIN(TestChunkSafety)
#include "tst_chunksafety.moc"
