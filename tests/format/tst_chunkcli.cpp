// surfing-cli chunk / verify / inspect as a user meets them: clear errors, exit codes, and
// nothing left at the destination when a run fails, is cancelled or is killed.
#include "testsupport.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>
#include <csignal>

using namespace surfing::test;

namespace {

QStringList entries(const QString &dir)
{
    return QDir(dir).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot, QDir::Name);
}

// A copy of a shared model that a test may damage.
QString copyModel(const QString &model, const QString &to)
{
    QDir().mkpath(to);
    const QDir from(sharedModel(model));
    for (const QString &name : from.entryList(QDir::Files))
        QFile::copy(from.filePath(name), to + "/" + name);
    return to;
}

void writeText(const QString &path, const QByteArray &text)
{
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(text);
}

} // namespace

class TestChunkCli : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        if (sharedModel("stories260K").isEmpty())
            QSKIP("../shared/models is not beside the checkout");
    }

    void usageErrorsExitTwo()
    {
        QCOMPARE(runCli({}).exitCode, 2);
        QCOMPARE(runCli({"frobnicate"}).exitCode, 2);
        QCOMPARE(runCli({"chunk", sharedModel("stories260K")}).exitCode, 2); // no -o
        const CliResult level = runCli({"chunk", sharedModel("stories260K"), "-o", "x", "--compress", "--level", "99"});
        QCOMPARE(level.exitCode, 2);
        QVERIFY(level.err.contains("--level must be between 1 and 19"));
        QVERIFY(runCli({"chunk", "--help"}).out.contains("--compress"));
    }

    void brokenInputsFailCleanly_data()
    {
        QTest::addColumn<QString>("damage");
        QTest::addColumn<QString>("expected");
        QTest::newRow("missing config") << "rm-config" << "config.json: missing";
        QTest::newRow("unknown model_type") << "falcon" << "model_type 'falcon' is not supported (supported: bert, gpt2, llama, mistral, qwen2, qwen3, qwen3_moe, t5)";
        QTest::newRow("truncated weights") << "truncate" << "model.safetensors: invalid safetensors file";
        QTest::newRow("garbage weights") << "garbage" << "model.safetensors: invalid safetensors file: header length";
        QTest::newRow("no weights") << "rm-weights" << "no weights found";
        QTest::newRow("invalid config json") << "badjson" << "config.json: not a JSON object";
    }

    void brokenInputsFailCleanly()
    {
        QFETCH(QString, damage);
        QFETCH(QString, expected);
        QTemporaryDir tmp;
        const QString model = copyModel("stories260K", tmp.filePath("model"));
        const QString weights = model + "/model.safetensors";
        if (damage == "rm-config") QFile::remove(model + "/config.json");
        if (damage == "falcon") writeText(model + "/config.json", R"({"model_type":"falcon","num_hidden_layers":2})");
        if (damage == "badjson") writeText(model + "/config.json", "{\"model_type\":");
        if (damage == "truncate") QFile::resize(weights, QFileInfo(weights).size() - 100);
        if (damage == "garbage") writeText(weights, QByteArray(64, '\xee'));
        if (damage == "rm-weights") QFile::remove(weights);

        const CliResult r = runCli({"chunk", model, "-o", tmp.filePath("out/chunks")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(expected.toUtf8()), r.err.constData());
        QVERIFY(!QFileInfo::exists(tmp.filePath("out/chunks")));
        QVERIFY(entries(tmp.filePath("out")).isEmpty());
    }

    void unwritableOutputIsReported()
    {
        QTemporaryDir tmp;
        writeText(tmp.filePath("file"), "x");
        const CliResult r = runCli({"chunk", sharedModel("stories260K"), "-o", tmp.filePath("file/out")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(tmp.filePath("file").toUtf8()), r.err.constData());
        QCOMPARE(entries(tmp.path()), QStringList{"file"});
    }

    void fullDiskLeavesNothing()
    {
        // A file-size limit makes every write past 300 KiB fail with EFBIG, as a full disk would.
        QTemporaryDir tmp;
        QProcess p;
        p.start("bash", {"-c", QString("trap '' XFSZ; ulimit -f 300; exec \"%1\" chunk \"%2\" -o \"%3\"")
                                   .arg(cliPath(), sharedModel("gpt2-random"), tmp.filePath("out"))});
        QVERIFY(p.waitForFinished(-1));
        QCOMPARE(p.exitCode(), 1);
        const QByteArray err = p.readAllStandardError();
        QVERIFY2(err.contains("write failed") || err.contains("cannot write"), err.constData());
        QVERIFY(entries(tmp.path()).isEmpty());
    }

    void killedRunLeavesNothingThatLooksComplete()
    {
        QTemporaryDir tmp;
        QCOMPARE(runCli({"make-model", "--layers", "8", "--hidden", "512", "--intermediate", "1376", "--vocab", "8000", "-o", tmp.filePath("big")}).exitCode, 0);
        QProcess p;
        p.start(cliPath(), {"chunk", tmp.filePath("big"), "-o", tmp.filePath("out"), "--threads", "1", "-v"});
        QVERIFY(p.waitForStarted());
        while (!p.readAllStandardError().contains("wrote") && p.state() == QProcess::Running)
            p.waitForReadyRead(100);
        QVERIFY2(p.state() == QProcess::Running, "the run finished before it could be killed");
        ::kill(pid_t(p.processId()), SIGKILL);
        p.waitForFinished(-1);
        QVERIFY(!QFileInfo::exists(tmp.filePath("out")));
        for (const QString &e : entries(tmp.path()))
            QVERIFY2(e == "big" || (e.startsWith(".out.partial-") && !QFileInfo::exists(tmp.filePath(e) + "/chunk_info.json")), qPrintable(e));

        // The next run cleans up the dead run's staging directory.
        QCOMPARE(runCli({"chunk", tmp.filePath("big"), "-o", tmp.filePath("out")}).exitCode, 0);
        QCOMPARE(entries(tmp.path()), (QStringList{"big", "out"}));
        QCOMPARE(runCli({"verify", tmp.filePath("out")}).exitCode, 0);
    }

    void existingOutputIsKeptOrReplacedWhole()
    {
        QTemporaryDir tmp;
        QCOMPARE(runCli({"chunk", sharedModel("gpt2-random"), "-o", tmp.filePath("out")}).exitCode, 0);
        writeText(tmp.filePath("out/keep.txt"), "mine");
        const QStringList before = entries(tmp.filePath("out"));
        const CliResult refused = runCli({"chunk", sharedModel("stories260K"), "-o", tmp.filePath("out")});
        QCOMPARE(refused.exitCode, 1);
        QVERIFY(refused.err.contains("already exists"));
        QCOMPARE(entries(tmp.filePath("out")), before);

        // An earlier chunk output is replaced whole (tst_chunksafety: nothing else is).
        QCOMPARE(runCli({"chunk", sharedModel("stories260K"), "-o", tmp.filePath("out"), "--force"}).exitCode, 0);
        QVERIFY(!QFileInfo::exists(tmp.filePath("out/keep.txt")));
        QVERIFY(!QFileInfo::exists(tmp.filePath("out/wte.safetensors")));
        QVERIFY(QFileInfo::exists(tmp.filePath("out/chunk_info.json")));
        QCOMPARE(entries(tmp.path()), QStringList{"out"});
    }

    void verifyNamesCorruptChunks()
    {
        QTemporaryDir tmp;
        const QString out = tmp.filePath("out");
        QCOMPARE(runCli({"chunk", sharedModel("stories260K"), "-o", out, "--compress"}).exitCode, 0);
        QCOMPARE(runCli({"verify", out}).exitCode, 0);
        QFile f(out + "/layer_2.safetensors.bgz");
        QVERIFY(f.open(QIODevice::ReadWrite));
        f.seek(1000);
        const char c = f.read(1)[0];
        f.seek(1000);
        f.write(QByteArray(1, char(c ^ 0x01)));
        f.close();
        QFile::remove(out + "/layer_4.safetensors.bgz");

        const CliResult r = runCli({"verify", out});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("BAD layer_2: chunk 'layer_2' of " + out.toUtf8() + ": SHA-256 mismatch"), r.err.constData());
        QVERIFY(r.err.contains("BAD layer_4"));
        QVERIFY(!r.err.contains("BAD layer_3"));

        const QJsonObject json = QJsonDocument::fromJson(runCli({"verify", out, "--json"}).out).object();
        QCOMPARE(json.value("ok").toBool(true), false);
        QCOMPARE(json.value("failures").toInt(), 2);
    }

    void inspectShowsBothKinds()
    {
        QTemporaryDir tmp;
        QCOMPARE(runCli({"chunk", sharedModel("gpt2-random"), "-o", tmp.filePath("out"), "--compress"}).exitCode, 0);
        const QJsonObject chunks = QJsonDocument::fromJson(runCli({"inspect", tmp.filePath("out"), "--json"}).out).object();
        QCOMPARE(chunks.value("kind").toString(), QString("chunk directory"));
        QCOMPARE(chunks.value("num_layers").toInt(), 3);
        QStringList names;
        for (const QJsonValue &c : chunks.value("chunks").toArray())
            names << c.toObject().value("name").toString();
        QCOMPARE(names, (QStringList{"wte", "wpe", "block_0", "block_1", "block_2", "ln_f"}));

        const CliResult model = runCli({"inspect", sharedModel("gpt2-random")});
        QCOMPARE(model.exitCode, 0);
        QVERIFY2(model.out.contains("model directory: gpt2-random (gpt2), 3 layers"), model.out.constData());
        QVERIFY(model.out.contains("block_2"));
    }

    // surfing-cli does not load libtorch; a pytorch_model.bin input is handed to surfing-cli-torch
    // with the same command line, so to the user it just works, with or without --sync.
    void binModelsGoThroughTheTorchPartner()
    {
        QTemporaryDir tmp;
        const QString bin = sharedModel("bert-random-bin");
        QCOMPARE(runCli({"chunk", bin, "-o", tmp.filePath("bin"), "--sync"}).exitCode, 0);
        QCOMPARE(runCli({"chunk", sharedModel("bert-random"), "-o", tmp.filePath("st")}).exitCode, 0);
        const CliResult inspected = runCli({"inspect", bin});
        QCOMPARE(inspected.exitCode, 0);
        QVERIFY2(inspected.out.contains("pytorch .bin"), inspected.out.constData());
        const auto hashes = [&](const QString &dir) {
            QStringList out;
            const QJsonObject json = QJsonDocument::fromJson(runCli({"inspect", dir, "--json"}).out).object();
            for (const QJsonValue &c : json.value("chunks").toArray())
                out << c.toObject().value("sha256").toString();
            return out;
        };
        QVERIFY(!hashes(tmp.filePath("bin")).isEmpty());
        QCOMPARE(hashes(tmp.filePath("bin")), hashes(tmp.filePath("st")));
        QVERIFY(runCli({"run", "--help"}).out.contains("--prompt"));
    }
};

QTEST_GUILESS_MAIN(TestChunkCli)
#include "tst_chunkcli.moc"
