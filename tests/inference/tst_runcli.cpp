// surfing-cli run end to end: --local over chunk directories written by `surfing-cli chunk`, and
// --server against `surfing-cli serve` in its own process over loopback. Ids and dumped tensors
// are checked against the goldens in ../shared/models.
#include "goldens.h"
#include "base/blastuning.h"
#include "format/chunkmanifest.h"
#include "serveprocess.h"
#include "testsupport.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QtTest>
#include <csignal>

using namespace surfing;
using namespace surfing::test;

namespace {

// A counter from a server's /metrics (surfing_chunks_served_total: chunks and files sent whole);
// -1 when it does not answer.
double serverMetric(int metricsPort, const QByteArray &name)
{
    QTcpSocket socket;
    socket.connectToHost(QStringLiteral("127.0.0.1"), quint16(metricsPort));
    if (!socket.waitForConnected(kWaitMs))
        return -1;
    socket.write("GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    QByteArray answer;
    while (socket.waitForReadyRead(kWaitMs))
        answer += socket.readAll();
    for (const QByteArray &line : answer.split('\n'))
        if (line.startsWith(name + ' '))
            return line.mid(line.lastIndexOf(' ') + 1).toDouble();
    return -1;
}

} // namespace

class TestRunCli : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_tmp;
    QString chunks(const QString &model);
    QJsonObject runJson(const QStringList &args);
    bool runVerboseStories(const QProcessEnvironment &env, QByteArray &err);

private Q_SLOTS:
    void initTestCase();
    void storiesLocalGreedyMatchesGolden();
    void adaptivePrefetchIsTheDefaultAndKeepsTheOutput();
    void llamaDumpTensorsMatchGolden();
    void bertPromptPooledMatchesGolden();
    void samplingIsSeeded();
    void badUsage();
    void t5WithoutTokenizerPrintsIds();
    void serverRunMatchesLocal();
    void interruptedRunRemovesItsStagedFiles_data();
    void interruptedRunRemovesItsStagedFiles();
    void namesTheBlasItUses_data();
    void namesTheBlasItUses();
    void choosesOpenBlasKernelsForThisCpu_data();
    void choosesOpenBlasKernelsForThisCpu();
    void kernelPathsAgreeForEveryDtype();
};

QString TestRunCli::chunks(const QString &model)
{
    const QString out = m_tmp.filePath(model);
    if (!QFile::exists(out + QStringLiteral("/chunk_info.json"))) {
        const CliResult r = runCli({QStringLiteral("chunk"), sharedModel(model), QStringLiteral("-o"), out, QStringLiteral("--compress")});
        if (r.exitCode != 0)
            qWarning() << r.err;
    }
    return out;
}

QJsonObject TestRunCli::runJson(const QStringList &args)
{
    const CliResult r = runCli(QStringList{QStringLiteral("run"), QStringLiteral("--json")} + args);
    if (r.exitCode != 0)
        qWarning().noquote() << r.err;
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(r.out, &error);
    if (error.error != QJsonParseError::NoError)
        qWarning() << "not one JSON document:" << r.out.left(300);
    return doc.object();
}

void TestRunCli::initTestCase()
{
    if (sharedModelsDir().isEmpty())
        QSKIP("../shared/models is not available");
    QVERIFY(m_tmp.isValid());
}

void TestRunCli::storiesLocalGreedyMatchesGolden()
{
    const QJsonObject golden = readJson(sharedModel(QStringLiteral("stories260K")) + QStringLiteral("/golden/prompts.json"))
                                   .value(QLatin1String("prompts")).toArray().at(0).toObject();
    // A cache of 3 chunks for a 7-chunk model: weights come and go, the KV cache stays.
    const QJsonObject out = runJson({QStringLiteral("--local"), chunks(QStringLiteral("stories260K")),
                                     QStringLiteral("--prompt"), golden.value(QLatin1String("prompt")).toString(),
                                     QStringLiteral("--max-tokens"), QStringLiteral("48"),
                                     QStringLiteral("--cache-layers"), QStringLiteral("3"), QStringLiteral("--prefetch"), QStringLiteral("1")});
    QCOMPARE(toIds(out.value(QLatin1String("prompt_ids"))), toIds(golden.value(QLatin1String("ids"))));
    QCOMPARE(toIds(out.value(QLatin1String("ids"))), toIds(golden.value(QLatin1String("greedy_ids"))));
    QCOMPARE(out.value(QLatin1String("text")).toString(), golden.value(QLatin1String("greedy_text")).toString());
    const QJsonObject stats = out.value(QLatin1String("stats")).toObject();
    for (const char *key : {"cache_hit_rate", "avg_inference_time", "bytes_fetched", "fetch_wait_ms", "compute_ms",
                            "tokens_per_second", "time_to_first_token_ms"})
        QVERIFY2(stats.contains(QLatin1String(key)), key);
    QCOMPARE(stats.value(QLatin1String("new_tokens")).toInt(), 48);
    QCOMPARE(stats.value(QLatin1String("steps")).toInt(), 48);
    const QJsonArray timeline = out.value(QLatin1String("timeline")).toArray();
    QCOMPARE(timeline.size(), 48 * 7); // embed_tokens, 5 layers, norm per step
    QCOMPARE(timeline.last().toObject().value(QLatin1String("step")).toInt() - timeline.first().toObject().value(QLatin1String("step")).toInt(), 47);
}

// `--prefetch auto` (the default) switches the window between steps; the output never depends on it.
void TestRunCli::adaptivePrefetchIsTheDefaultAndKeepsTheOutput()
{
    const QJsonObject golden = readJson(sharedModel(QStringLiteral("stories260K")) + QStringLiteral("/golden/prompts.json"))
                                   .value(QLatin1String("prompts")).toArray().at(0).toObject();
    const QJsonObject out = runJson({QStringLiteral("--local"), chunks(QStringLiteral("stories260K")),
                                     QStringLiteral("--prompt"), golden.value(QLatin1String("prompt")).toString(),
                                     QStringLiteral("--max-tokens"), QStringLiteral("48"), QStringLiteral("--cache-layers"), QStringLiteral("3")});
    QCOMPARE(toIds(out.value(QLatin1String("ids"))), toIds(golden.value(QLatin1String("greedy_ids"))));
    const QJsonObject stats = out.value(QLatin1String("stats")).toObject();
    QCOMPARE(stats.value(QLatin1String("prefetch")).toString(), QStringLiteral("auto"));
    const int kept = stats.value(QLatin1String("prefetch_depth")).toInt(-1);
    QVERIFY2(kept == 0 || kept == 2, qPrintable(QString::number(kept)));
    // 47 next-token steps: both depths were measured, so the timeline has prefetched units.
    bool prefetched = false;
    for (const QJsonValue &e : out.value(QLatin1String("timeline")).toArray())
        prefetched = prefetched || e.toObject().value(QLatin1String("prefetched")).toBool();
    QVERIFY(prefetched);

    const QJsonObject fixed = runJson({QStringLiteral("--local"), chunks(QStringLiteral("stories260K")), QStringLiteral("--prompt"),
                                       QStringLiteral("x"), QStringLiteral("--max-tokens"), QStringLiteral("2"), QStringLiteral("--prefetch"), QStringLiteral("1")});
    QCOMPARE(fixed.value(QLatin1String("stats")).toObject().value(QLatin1String("prefetch")).toString(), QStringLiteral("fixed"));
    QCOMPARE(fixed.value(QLatin1String("stats")).toObject().value(QLatin1String("prefetch_depth")).toInt(), 1);
}

void TestRunCli::llamaDumpTensorsMatchGolden()
{
    const QString golden = sharedModel(QStringLiteral("llama-random")) + QStringLiteral("/golden/01_short");
    const QJsonObject j = readJson(golden + QStringLiteral(".json"));
    QStringList ids;
    for (int64_t id : toIds(j.value(QLatin1String("input_ids")).toArray().at(0)))
        ids << QString::number(id);
    const QString dump = m_tmp.filePath(QStringLiteral("llama.safetensors"));
    const QJsonObject out = runJson({QStringLiteral("--local"), chunks(QStringLiteral("llama-random")), QStringLiteral("--ids"),
                                     ids.join(QLatin1Char(',')), QStringLiteral("--max-tokens"), QStringLiteral("20"),
                                     QStringLiteral("--dump-tensors"), dump, QStringLiteral("--cache-mb"), QStringLiteral("1")});
    QCOMPARE(toIds(out.value(QLatin1String("ids"))), toIds(j.value(QLatin1String("greedy")).toObject().value(QLatin1String("new_ids")).toArray().at(0)));
    const QString st = golden + QStringLiteral(".safetensors");
    QVERIFY(maxAbsDiff(goldenTensor(dump, QStringLiteral("logits")), goldenTensor(st, QStringLiteral("logits"))) <= 1e-4);
    QVERIFY(maxAbsDiff(goldenTensor(dump, QStringLiteral("hidden_states")), goldenTensor(st, QStringLiteral("hidden_states.3"))) <= 1e-4);
}

void TestRunCli::bertPromptPooledMatchesGolden()
{
    const QString golden = sharedModel(QStringLiteral("bert-random")) + QStringLiteral("/golden/01_hello");
    const QString dump = m_tmp.filePath(QStringLiteral("bert.safetensors"));
    const CliResult r = runCli({QStringLiteral("run"), QStringLiteral("--local"), chunks(QStringLiteral("bert-random")),
                                QStringLiteral("--prompt"), QStringLiteral("Hello, world!"), QStringLiteral("--dump-tensors"), dump});
    QCOMPARE(r.exitCode, 0);
    QVERIFY(r.out.contains("pooler_output"));
    QVERIFY(r.err.contains("cache_hit_rate"));
    const QString st = golden + QStringLiteral(".safetensors");
    QVERIFY(maxAbsDiff(goldenTensor(dump, QStringLiteral("pooler_output")), goldenTensor(st, QStringLiteral("pooler_output"))) <= 1e-4);
    QVERIFY(maxAbsDiff(goldenTensor(dump, QStringLiteral("last_hidden_state")), goldenTensor(st, QStringLiteral("last_hidden_state"))) <= 1e-4);
}

void TestRunCli::samplingIsSeeded()
{
    const QStringList base{QStringLiteral("--local"), chunks(QStringLiteral("stories260K")), QStringLiteral("--prompt"),
                           QStringLiteral("Tom and his dog"), QStringLiteral("--max-tokens"), QStringLiteral("24"),
                           QStringLiteral("--temperature"), QStringLiteral("1.0"), QStringLiteral("--top-k"), QStringLiteral("40"),
                           QStringLiteral("--top-p"), QStringLiteral("0.9")};
    const QJsonObject a = runJson(base + QStringList{QStringLiteral("--seed"), QStringLiteral("7")});
    const QJsonObject b = runJson(base + QStringList{QStringLiteral("--seed"), QStringLiteral("7")});
    const QJsonObject c = runJson(base + QStringList{QStringLiteral("--seed"), QStringLiteral("8")});
    QVERIFY(!toIds(a.value(QLatin1String("ids"))).empty());
    QCOMPARE(toIds(a.value(QLatin1String("ids"))), toIds(b.value(QLatin1String("ids"))));
    QVERIFY(toIds(a.value(QLatin1String("ids"))) != toIds(c.value(QLatin1String("ids"))));
}

void TestRunCli::badUsage()
{
    QCOMPARE(runCli({QStringLiteral("run"), QStringLiteral("--prompt"), QStringLiteral("x")}).exitCode, 2);
    QCOMPARE(runCli({QStringLiteral("run"), QStringLiteral("--local"), chunks(QStringLiteral("stories260K")),
                     QStringLiteral("--prompt"), QStringLiteral("x"), QStringLiteral("--top-p"), QStringLiteral("2")}).exitCode, 2);
    for (const char *threads : {"0", "-1", "1.5", "many"}) {
        const CliResult r = runCli({QStringLiteral("run"), QStringLiteral("--local"), chunks(QStringLiteral("stories260K")),
                                    QStringLiteral("--prompt"), QStringLiteral("x"), QStringLiteral("--threads"), QLatin1String(threads)});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains("--threads"), r.err.constData());
    }
    for (const char *depth : {"-1", "1.5", "soon", "65"}) {
        const CliResult r = runCli({QStringLiteral("run"), QStringLiteral("--local"), chunks(QStringLiteral("stories260K")),
                                    QStringLiteral("--prompt"), QStringLiteral("x"), QStringLiteral("--prefetch"), QLatin1String(depth)});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains("--prefetch") && r.err.contains("auto"), r.err.constData());
    }
    const QJsonObject oneThread = runJson({QStringLiteral("--local"), chunks(QStringLiteral("stories260K")), QStringLiteral("--prompt"),
                                           QStringLiteral("x"), QStringLiteral("--max-tokens"), QStringLiteral("1"), QStringLiteral("--threads"), QStringLiteral("1")});
    QCOMPARE(oneThread.value(QLatin1String("stats")).toObject().value(QLatin1String("threads")).toInt(), 1);
    const CliResult missing = runCli({QStringLiteral("run"), QStringLiteral("--local"), m_tmp.filePath(QStringLiteral("nope")),
                                      QStringLiteral("--prompt"), QStringLiteral("x")});
    QCOMPARE(missing.exitCode, 1);
    QVERIFY(missing.err.contains("nope"));
    const CliResult noTokenizer = runCli({QStringLiteral("run"), QStringLiteral("--local"), chunks(QStringLiteral("llama-random")),
                                          QStringLiteral("--prompt"), QStringLiteral("x")});
    QCOMPARE(noTokenizer.exitCode, 1);
    QVERIFY(noTokenizer.err.contains("tokenizer"));
}

// t5-random ships no tokenizer: ids in, ids out (stdout), and a text prompt is a clear error.
void TestRunCli::t5WithoutTokenizerPrintsIds()
{
    const QString dir = chunks(QStringLiteral("t5-random"));
    const QStringList args{QStringLiteral("run"), QStringLiteral("--local"), dir, QStringLiteral("--ids"), QStringLiteral("5,9,14,1"),
                           QStringLiteral("--max-tokens"), QStringLiteral("4")};
    const CliResult plain = runCli(args);
    QCOMPARE(plain.exitCode, 0);
    QVERIFY2(plain.err.contains("no tokenizer"), plain.err.constData());
    const QJsonObject json = runJson(args.mid(1));
    const std::vector<int64_t> ids = toIds(json.value(QLatin1String("ids")));
    QVERIFY(!ids.empty());
    QStringList expected;
    for (int64_t id : ids)
        expected << QString::number(id);
    QCOMPARE(QString::fromUtf8(plain.out).trimmed(), expected.join(QLatin1Char(' ')));

    const CliResult text = runCli({QStringLiteral("run"), QStringLiteral("--local"), dir, QStringLiteral("--prompt"), QStringLiteral("hello")});
    QCOMPARE(text.exitCode, 1);
    QVERIFY2(text.err.contains("no tokenizer") && text.err.contains("--ids"), text.err.constData());
    QVERIFY(text.out.isEmpty());
}

void TestRunCli::serverRunMatchesLocal()
{
    const QString dir = chunks(QStringLiteral("stories260K"));
    QProcess server;
    server.setProgram(cliPath());
    server.setArguments({QStringLiteral("serve"), dir, QStringLiteral("--host"), QStringLiteral("127.0.0.1"), QStringLiteral("--port"), QStringLiteral("0")});
    server.start();
    QVERIFY(server.waitForStarted());
    QByteArray url;
    while (!url.contains('\n') && server.state() == QProcess::Running) {
        server.waitForReadyRead(-1);
        url += server.readAllStandardOutput();
    }
    url = url.trimmed();
    QVERIFY2(url.startsWith("ws://127.0.0.1:"), server.readAllStandardError().constData());
    const QStringList args{QStringLiteral("--prompt"), QStringLiteral("Lily said"), QStringLiteral("--max-tokens"), QStringLiteral("16"),
                           QStringLiteral("--cache-layers"), QStringLiteral("2")};
    const CliResult probe = runCli(QStringList{QStringLiteral("run"), QStringLiteral("--server"), QString::fromUtf8(url)} + args);
    if (probe.exitCode != 0 && probe.err.contains("fetching the model files") && probe.err.contains("bad_request")) {
        server.terminate();
        server.waitForFinished(-1);
        QSKIP("the server does not answer file requests (config.json, tokenizer) yet");
    }
    const QJsonObject remote = runJson(QStringList{QStringLiteral("--server"), QString::fromUtf8(url)} + args);
    const QJsonObject local = runJson(QStringList{QStringLiteral("--local"), dir} + args);
    server.terminate();
    server.waitForFinished(-1);
    QCOMPARE(toIds(remote.value(QLatin1String("ids"))).size(), size_t(16));
    QCOMPARE(toIds(remote.value(QLatin1String("ids"))), toIds(local.value(QLatin1String("ids"))));
    QCOMPARE(remote.value(QLatin1String("text")).toString(), local.value(QLatin1String("text")).toString());
    QVERIFY(remote.value(QLatin1String("stats")).toObject().value(QLatin1String("unit_lookups")).toInt() == 16 * 7);
}

// libtorch calls libblas.so.3; which library that is decides the speed. -v names it, and the slow
// reference BLAS gets one warning saying how to fix it. Each BLAS is picked with LD_LIBRARY_PATH.
void TestRunCli::namesTheBlasItUses_data()
{
    QTest::addColumn<QString>("libraryDir");
    QTest::addColumn<QString>("expected");
    QTest::addColumn<bool>("warns");
    const QString lib = QStringLiteral("/usr/lib/x86_64-linux-gnu/");
    QTest::newRow("reference") << lib + QStringLiteral("blas") << QStringLiteral("netlib reference BLAS") << true;
    QTest::newRow("openblas") << lib + QStringLiteral("openblas-pthread") << QStringLiteral("OpenBLAS 0.") << false;
}

// `run -v` of two stories260K tokens in `env`; its stderr in `err`. False (with the stderr shown)
// unless it exits 0.
bool TestRunCli::runVerboseStories(const QProcessEnvironment &env, QByteArray &err)
{
    QProcess p;
    p.setProcessEnvironment(env);
    p.start(cliPath(), {QStringLiteral("run"), QStringLiteral("-v"), QStringLiteral("--local"), chunks(QStringLiteral("stories260K")),
                        QStringLiteral("--prompt"), QStringLiteral("Once"), QStringLiteral("--max-tokens"), QStringLiteral("2")});
    if (!p.waitForFinished(-1))
        return false;
    err = p.readAllStandardError();
    if (p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) {
        qWarning().noquote() << err;
        return false;
    }
    return true;
}

void TestRunCli::namesTheBlasItUses()
{
    QFETCH(QString, libraryDir);
    QFETCH(QString, expected);
    QFETCH(bool, warns);
    if (!QFile::exists(libraryDir + QStringLiteral("/libblas.so.3")))
        QSKIP("this BLAS is not installed here");
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("LD_LIBRARY_PATH"), libraryDir);
    QByteArray err;
    QVERIFY(runVerboseStories(env, err));
    QVERIFY2(err.contains(expected.toUtf8()) && err.contains(libraryDir.toUtf8()), err.constData());
    QCOMPARE(err.contains("libopenblas0-pthread"), warns);
}

void TestRunCli::choosesOpenBlasKernelsForThisCpu_data()
{
    QTest::addColumn<QString>("userChoice");
    QTest::addColumn<QString>("expectedCore");
    QTest::newRow("unset: the best this CPU runs") << QString() << QString::fromLatin1(surfing::preferredOpenBlasCoreType());
    QTest::newRow("the user's choice wins") << QStringLiteral("Prescott") << QStringLiteral("Prescott");
}

void TestRunCli::choosesOpenBlasKernelsForThisCpu()
{
    // OpenBLAS 0.3.21 picks its SSE3 kernels on CPUs it does not know by model number; surfing-cli
    // then restarts with OPENBLAS_CORETYPE set, unless the user set it.
    QFETCH(QString, userChoice);
    QFETCH(QString, expectedCore);
    const QString libraryDir = QStringLiteral("/usr/lib/x86_64-linux-gnu/openblas-pthread");
    if (!QFile::exists(libraryDir + QStringLiteral("/libblas.so.3")))
        QSKIP("OpenBLAS (pthread) is not installed here");
    if (expectedCore.isEmpty())
        QSKIP("this CPU has no AVX2: OpenBLAS's own choice stands");
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("LD_LIBRARY_PATH"), libraryDir);
    env.remove(QStringLiteral("OPENBLAS_CORETYPE"));
    if (!userChoice.isEmpty())
        env.insert(QStringLiteral("OPENBLAS_CORETYPE"), userChoice);
    QByteArray err;
    QVERIFY(runVerboseStories(env, err));
    const QByteArray blasLine = err.mid(err.indexOf("OpenBLAS 0."));
    QVERIFY2(blasLine.left(blasLine.indexOf('\n')).toLower().contains(" " + expectedCore.toLower().toUtf8() + " "), err.constData());
}

void TestRunCli::kernelPathsAgreeForEveryDtype()
{
    // stories260K stored as f32, f16 and bf16, with SURFING_KERNELS forcing each matvec path (one
    // the CPU lacks falls back to one it has, never SIGILL): the same greedy ids on every path,
    // and the f32 ids are llama2.c's.
    const QJsonObject golden = readJson(sharedModel(QStringLiteral("stories260K")) + QStringLiteral("/golden/prompts.json"))
                                   .value(QLatin1String("prompts")).toArray().at(0).toObject();
    std::vector<int64_t> expected = toIds(golden.value(QLatin1String("greedy_ids")));
    expected.resize(24);
    for (const char *dtype : {"f32", "f16", "bf16"}) {
        const QString dir = m_tmp.filePath(QStringLiteral("stories-%1").arg(QLatin1String(dtype)));
        const CliResult chunked = runCli({QStringLiteral("chunk"), sharedModel(QStringLiteral("stories260K")), QStringLiteral("-o"), dir,
                                          QStringLiteral("--dtype"), QLatin1String(dtype)});
        QVERIFY2(chunked.exitCode == 0, chunked.err.constData());
        std::vector<int64_t> first;
        for (const char *path : {"portable", "avx2", "avx512", "auto"}) {
            qputenv("SURFING_KERNELS", path);
            const QJsonObject out = runJson({QStringLiteral("--local"), dir, QStringLiteral("--prompt"),
                                             golden.value(QLatin1String("prompt")).toString(), QStringLiteral("--max-tokens"),
                                             QStringLiteral("24")});
            const std::vector<int64_t> ids = toIds(out.value(QLatin1String("ids")));
            QVERIFY2(ids.size() == 24, path);
            if (first.empty())
                first = ids;
            QVERIFY2(ids == first, qPrintable(QStringLiteral("%1 on %2").arg(QLatin1String(dtype), QLatin1String(path))));
        }
        if (QByteArray(dtype) == "f32")
            QCOMPARE(first, expected);
    }
    qputenv("SURFING_KERNELS", "sse9");
    const CliResult unknown = runCli({QStringLiteral("run"), QStringLiteral("--local"), chunks(QStringLiteral("stories260K")),
                                      QStringLiteral("--prompt"), QStringLiteral("Once"), QStringLiteral("--max-tokens"), QStringLiteral("2")});
    qunsetenv("SURFING_KERNELS");
    QVERIFY2(unknown.exitCode == 0, unknown.err.constData());
    QVERIFY2(unknown.err.contains("SURFING_KERNELS=sse9"), unknown.err.constData());
}

QTEST_GUILESS_MAIN(TestRunCli)
void TestRunCli::interruptedRunRemovesItsStagedFiles_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("mbps");
    QTest::addColumn<bool>("duringAChunk"); // interrupted while the first, large chunk arrives
    QTest::newRow("between chunks") << QStringLiteral("stories260K") << QStringLiteral("1") << false;
    // bert-random's embeddings (~15 MB) take a minute at 2 Mbit/s.
    QTest::newRow("while a large chunk arrives") << QStringLiteral("bert-random") << QStringLiteral("2") << true;
}

void TestRunCli::interruptedRunRemovesItsStagedFiles()
{
    // A remote model's config and tokenizer are staged in a temporary folder; Ctrl+C used to kill
    // `run` on the spot and leave the folder behind. A paced server keeps the warm-up going long
    // enough to interrupt it once the folder is there.
    QFETCH(QString, model);
    QFETCH(QString, mbps);
    QFETCH(bool, duringAChunk);
    ServeProcess server;
    QVERIFY(server.start({chunks(model), QStringLiteral("--host"), QStringLiteral("127.0.0.1"), QStringLiteral("--limit-mbps"), mbps,
                          QStringLiteral("--metrics-port"), QStringLiteral("0")}));
    QVERIFY(server.metricsPort() > 0);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    QProcess run;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("TMPDIR"), tmp.path());
    run.setProcessEnvironment(env);
    run.start(cliPath(), {QStringLiteral("run"), QStringLiteral("--server"), server.url().toString(), QStringLiteral("--ids"),
                          QStringLiteral("1,2"), QStringLiteral("--max-tokens"), QStringLiteral("4"), QStringLiteral("--warmup")});
    QVERIFY(run.waitForStarted());
    const auto staged = [&tmp] { return !QDir(tmp.path()).entryList(QDir::AllEntries | QDir::NoDotAndDotDot).isEmpty(); };
    QTRY_VERIFY_WITH_TIMEOUT(staged() || run.state() != QProcess::Running, kWaitMs);
    // The warm-up is under way once more than the model's files went out.
    const ChunkManifest manifest = ChunkManifest::load(chunks(model));
    qint64 fileBytes = 0;
    for (const ManifestFile &f : manifest.files)
        fileBytes += qMax<qint64>(0, f.bytes);
    QTRY_VERIFY_WITH_TIMEOUT(serverMetric(server.metricsPort(), "surfing_bytes_sent_total") > double(fileBytes)
                                 || run.state() != QProcess::Running, kWaitMs);
    QVERIFY2(run.state() == QProcess::Running, run.readAllStandardError().constData());
    ::kill(pid_t(run.processId()), SIGINT);
    QVERIFY(run.waitForFinished(kWaitMs));
    const QByteArray err = run.readAllStandardError();
    QCOMPARE(run.exitStatus(), QProcess::NormalExit);
    QCOMPARE(run.exitCode(), 1);
    QVERIFY2(err.contains("interrupted by SIGINT"), err.constData());
    QVERIFY2(!staged(), qPrintable(QDir(tmp.path()).entryList(QDir::AllEntries | QDir::NoDotAndDotDot).join(QLatin1Char(' '))));
    // Ctrl+C ended the warm-up: it used to be heard only once the whole model had arrived (the
    // warm-up held the thread whose event loop hears signals), and then only after the chunk it
    // waited for.
    const double served = serverMetric(server.metricsPort(), "surfing_chunks_served_total");
    const qsizetype most = duringAChunk ? manifest.files.size() : manifest.chunks.size() + manifest.files.size() - 1;
    QVERIFY2(served >= 0 && served <= most, qPrintable(QStringLiteral("%1 chunks and files served, at most %2 expected").arg(served).arg(most)));
}

#include "tst_runcli.moc"
