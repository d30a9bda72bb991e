// Batch mode (`run --prompts-file FILE --batch N`, issue 13): prompts generate together, each
// layer fetched once per step for all of them, and every prompt's greedy ids are those it gets
// alone: the stories260K goldens (8 prompts, 48 tokens, Hugging Face transformers) and the
// llama-random goldens (prompts of three lengths, left-padded in one batch), with a cache smaller
// than the model. Bad prompt files are refused by file and line.
#include "goldens.h"
#include "testsupport.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

using namespace surfing::test;

class TestBatchRun : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void storiesBatchesMatchGoldens_data();
    void storiesBatchesMatchGoldens();
    void llamaPaddedBatchMatchesGoldens();
    void eachUnitFetchedOncePerStep();
    void textPromptsMatchSingleRuns();
    void plainOutputIsOneLinePerPrompt();
    void badPromptsFilesAreRefused_data();
    void badPromptsFilesAreRefused();

private:
    QString chunks(const QString &model);
    QString writePrompts(const QString &name, const QByteArray &text);
    QJsonObject runBatch(const QStringList &args);

    QTemporaryDir m_tmp;
};

void TestBatchRun::initTestCase()
{
    if (sharedModelsDir().isEmpty())
        QSKIP("../shared/models is not available");
    QVERIFY(m_tmp.isValid());
}

QString TestBatchRun::chunks(const QString &model)
{
    const QString out = m_tmp.filePath(model);
    if (!QFile::exists(out + QStringLiteral("/chunk_info.json"))) {
        const CliResult r = runCli({QStringLiteral("chunk"), sharedModel(model), QStringLiteral("-o"), out});
        if (r.exitCode != 0)
            qWarning() << r.err;
    }
    return out;
}

QString TestBatchRun::writePrompts(const QString &name, const QByteArray &text)
{
    const QString path = m_tmp.filePath(name);
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(text) != text.size())
        qWarning() << "cannot write" << path;
    return path;
}

QJsonObject TestBatchRun::runBatch(const QStringList &args)
{
    const CliResult r = runCli(QStringList{QStringLiteral("run"), QStringLiteral("--json")} + args);
    if (r.exitCode != 0)
        qWarning().noquote() << r.err;
    return QJsonDocument::fromJson(r.out).object();
}

namespace {

QByteArray idsLine(const QJsonValue &ids)
{
    return QJsonDocument(QJsonObject{{"ids", ids.toArray()}}).toJson(QJsonDocument::Compact) + '\n';
}

// Our ids stop at EOS; a golden goes on (or pads) past it.
void compareWithGolden(const std::vector<int64_t> &ours, const std::vector<int64_t> &golden, int64_t eos, const QString &what)
{
    QVERIFY2(!ours.empty() && ours.size() <= golden.size(), qPrintable(what));
    QVERIFY2(ours.size() == golden.size() || ours.back() == eos, qPrintable(what + QStringLiteral(": stopped early without EOS")));
    QVERIFY2(std::equal(ours.begin(), ours.end(), golden.begin()), qPrintable(what + QStringLiteral(": ids differ from the golden")));
}

} // namespace

void TestBatchRun::storiesBatchesMatchGoldens_data()
{
    QTest::addColumn<int>("batch");
    QTest::newRow("batch 1") << 1;
    QTest::newRow("batch 3 (last batch of 2)") << 3;
    QTest::newRow("batch 8") << 8;
}

void TestBatchRun::storiesBatchesMatchGoldens()
{
    QFETCH(int, batch);
    const QJsonArray prompts = readJsonObject(sharedModel(QStringLiteral("stories260K")) + QStringLiteral("/golden/prompts.json"))
                                   .value(QLatin1String("prompts")).toArray();
    QCOMPARE(prompts.size(), 8);
    QByteArray file;
    for (const QJsonValue &p : prompts)
        file += idsLine(p.toObject().value(QLatin1String("ids")));
    const QString path = writePrompts(QStringLiteral("stories.jsonl"), file);
    // Two chunks of cache for seven units: memory-bounded, every step streams.
    const QJsonObject out = runBatch({QStringLiteral("--local"), chunks(QStringLiteral("stories260K")), QStringLiteral("--prompts-file"), path,
                                      QStringLiteral("--batch"), QString::number(batch), QStringLiteral("--max-tokens"), QStringLiteral("48"),
                                      QStringLiteral("--cache-layers"), QStringLiteral("2")});
    const QJsonArray results = out.value(QLatin1String("results")).toArray();
    QCOMPARE(results.size(), 8);
    QCOMPARE(out.value(QLatin1String("batches")).toArray().size(), (8 + batch - 1) / batch);
    for (int i = 0; i < 8; ++i) {
        const QJsonObject r = results[i].toObject();
        QCOMPARE(r.value(QLatin1String("line")).toInt(), i + 1);
        compareWithGolden(toIds(r.value(QLatin1String("ids"))), toIds(prompts[i].toObject().value(QLatin1String("greedy_ids"))),
                          2, QStringLiteral("prompt %1").arg(i + 1));
    }
}

void TestBatchRun::llamaPaddedBatchMatchesGoldens()
{
    const QString golden = sharedModel(QStringLiteral("llama-random")) + QStringLiteral("/golden/");
    QByteArray file;
    QVector<std::vector<int64_t>> expected;
    QSet<int> lengths;
    for (const char *name : {"01_short.json", "02_medium.json", "03_long.json"}) {
        const QJsonObject g = readJsonObject(golden + QLatin1String(name));
        const QJsonArray input = g.value(QLatin1String("input_ids")).toArray().first().toArray();
        const std::vector<int64_t> sequence = toIds(g.value(QLatin1String("greedy")).toObject().value(QLatin1String("sequences")).toArray().first());
        file += idsLine(input);
        expected.append(std::vector<int64_t>(sequence.begin() + input.size(), sequence.end()));
        lengths.insert(input.size());
    }
    QCOMPARE(lengths.size(), 3); // three lengths: the batch is left-padded
    const QString path = writePrompts(QStringLiteral("llama.jsonl"), file);
    const QJsonObject out = runBatch({QStringLiteral("--local"), chunks(QStringLiteral("llama-random")), QStringLiteral("--prompts-file"), path,
                                      QStringLiteral("--batch"), QStringLiteral("3"), QStringLiteral("--max-tokens"), QStringLiteral("20"),
                                      QStringLiteral("--cache-layers"), QStringLiteral("1")});
    const QJsonArray results = out.value(QLatin1String("results")).toArray();
    QCOMPARE(results.size(), 3);
    QCOMPARE(out.value(QLatin1String("batches")).toArray().size(), 1);
    for (int i = 0; i < 3; ++i)
        compareWithGolden(toIds(results[i].toObject().value(QLatin1String("ids"))), expected[i], 2, QStringLiteral("case %1").arg(i + 1));
}

// One forward pass per step for the whole batch: unit lookups are steps x units, not x prompts.
void TestBatchRun::eachUnitFetchedOncePerStep()
{
    const QString path = writePrompts(QStringLiteral("four.jsonl"), "{\"ids\": [1, 403]}\n{\"ids\": [1, 500, 27]}\n{\"ids\": [1]}\n{\"ids\": [1, 9, 9, 9]}\n");
    const QJsonObject out = runBatch({QStringLiteral("--local"), chunks(QStringLiteral("stories260K")), QStringLiteral("--prompts-file"), path,
                                      QStringLiteral("--batch"), QStringLiteral("4"), QStringLiteral("--max-tokens"), QStringLiteral("6"),
                                      QStringLiteral("--cache-layers"), QStringLiteral("2"), QStringLiteral("--prefetch"), QStringLiteral("0")});
    const QJsonObject stats = out.value(QLatin1String("batches")).toArray().first().toObject();
    QCOMPARE(stats.value(QLatin1String("batch")).toInt(), 4);
    const int steps = stats.value(QLatin1String("steps")).toInt();
    QVERIFY(steps >= 1 && steps <= 6);
    QCOMPARE(stats.value(QLatin1String("unit_lookups")).toInt(), steps * 7);
    // The batch's per-unit timeline, as a single run prints it (bench/bounded_bench.py reads it).
    const QJsonArray timeline = stats.value(QLatin1String("timeline")).toArray();
    QCOMPARE(timeline.size(), steps * 7);
    QSet<int> stepsSeen;
    for (const QJsonValue &e : timeline) {
        const QJsonObject o = e.toObject();
        stepsSeen.insert(o.value(QLatin1String("step")).toInt());
        QVERIFY(o.value(QLatin1String("compute_end_ns")).toDouble() >= o.value(QLatin1String("compute_start_ns")).toDouble());
        QVERIFY(!o.value(QLatin1String("unit")).toString().isEmpty());
    }
    QCOMPARE(stepsSeen.size(), steps);
    int tokens = 0;
    for (const QJsonValue &r : out.value(QLatin1String("results")).toArray())
        tokens += r.toObject().value(QLatin1String("ids")).toArray().size();
    QCOMPARE(stats.value(QLatin1String("new_tokens")).toInt(), tokens);
    QVERIFY(out.value(QLatin1String("stats")).toObject().value(QLatin1String("bytes_per_token")).toDouble() > 0);
}

// Text lines and JSON prompt lines are encoded like --prompt; the texts equal single runs'.
void TestBatchRun::textPromptsMatchSingleRuns()
{
    const QString dir = chunks(QStringLiteral("stories260K"));
    const QString path = writePrompts(QStringLiteral("text.txt"), "Once upon a time\n\n{\"prompt\": \"Lily said\"}\r\nThe cat\n");
    const QJsonObject out = runBatch({QStringLiteral("--local"), dir, QStringLiteral("--prompts-file"), path, QStringLiteral("--batch"),
                                      QStringLiteral("3"), QStringLiteral("--max-tokens"), QStringLiteral("16")});
    const QJsonArray results = out.value(QLatin1String("results")).toArray();
    QCOMPARE(results.size(), 3);
    const QStringList prompts{QStringLiteral("Once upon a time"), QStringLiteral("Lily said"), QStringLiteral("The cat")};
    const QList<int> lines{1, 3, 4};
    for (int i = 0; i < 3; ++i) {
        const CliResult alone = runCli({QStringLiteral("run"), QStringLiteral("--json"), QStringLiteral("--local"), dir, QStringLiteral("--prompt"),
                                        prompts[i], QStringLiteral("--max-tokens"), QStringLiteral("16")});
        QCOMPARE(alone.exitCode, 0);
        const QJsonObject single = QJsonDocument::fromJson(alone.out).object();
        const QJsonObject r = results[i].toObject();
        QCOMPARE(r.value(QLatin1String("line")).toInt(), lines[i]);
        QCOMPARE(r.value(QLatin1String("prompt_ids")).toArray(), single.value(QLatin1String("prompt_ids")).toArray());
        QCOMPARE(r.value(QLatin1String("ids")).toArray(), single.value(QLatin1String("ids")).toArray());
        QCOMPARE(r.value(QLatin1String("text")).toString(), single.value(QLatin1String("text")).toString());
    }
}

// Without --json every prompt's continuation is one line of stdout, in order; the first golden
// continuation holds a newline, written as \n.
void TestBatchRun::plainOutputIsOneLinePerPrompt()
{
    const QJsonArray prompts = readJsonObject(sharedModel(QStringLiteral("stories260K")) + QStringLiteral("/golden/prompts.json"))
                                   .value(QLatin1String("prompts")).toArray();
    const QJsonObject first = prompts[0].toObject();
    QVERIFY(first.value(QLatin1String("greedy_text")).toString().contains(QLatin1Char('\n')));
    const QString path = writePrompts(QStringLiteral("plain.jsonl"), idsLine(first.value(QLatin1String("ids")))
                                                                        + idsLine(prompts[1].toObject().value(QLatin1String("ids"))));
    const CliResult r = runCli({QStringLiteral("run"), QStringLiteral("--local"), chunks(QStringLiteral("stories260K")), QStringLiteral("--prompts-file"),
                                path, QStringLiteral("--batch"), QStringLiteral("2"), QStringLiteral("--max-tokens"), QStringLiteral("48")});
    QCOMPARE(r.exitCode, 0);
    const QStringList lines = QString::fromUtf8(r.out).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 2);
    QVERIFY2(lines[0].contains(QLatin1String("\\n")), qPrintable(lines[0]));
    QVERIFY2(lines[0].startsWith(QLatin1String("She loved to play")), qPrintable(lines[0]));
    QVERIFY2(r.err.contains("batch of 2"), r.err.constData());
}

void TestBatchRun::badPromptsFilesAreRefused_data()
{
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QStringList>("extra");
    QTest::addColumn<QString>("expected");
    QTest::newRow("bad JSON") << QByteArray("Once\n{\"prompt\": \n") << QStringList() << QStringLiteral(":2: not a JSON object");
    QTest::newRow("both keys") << QByteArray("{\"prompt\": \"a\", \"ids\": [1]}\n") << QStringList() << QStringLiteral(":1: give exactly one");
    QTest::newRow("negative id") << QByteArray("\n{\"ids\": [1, -4]}\n") << QStringList() << QStringLiteral(":2: \"ids\" holds");
    QTest::newRow("empty ids") << QByteArray("{\"ids\": []}\n") << QStringList() << QStringLiteral(":1: \"ids\" must be");
    QTest::newRow("no prompts") << QByteArray("\n  \n") << QStringList() << QStringLiteral("holds no prompts");
    QTest::newRow("batch 0") << QByteArray("a\n") << QStringList{QStringLiteral("--batch"), QStringLiteral("0")} << QStringLiteral("--batch must be");
    QTest::newRow("with --prompt") << QByteArray("a\n") << QStringList{QStringLiteral("--prompt"), QStringLiteral("x")}
                                   << QStringLiteral("--prompts-file takes the place");
}

void TestBatchRun::badPromptsFilesAreRefused()
{
    QFETCH(QByteArray, content);
    QFETCH(QStringList, extra);
    QFETCH(QString, expected);
    const QString path = writePrompts(QStringLiteral("bad.txt"), content);
    const CliResult r = runCli(QStringList{QStringLiteral("run"), QStringLiteral("--local"), chunks(QStringLiteral("stories260K")),
                                           QStringLiteral("--prompts-file"), path} + extra);
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(QString::fromUtf8(r.err).contains(expected), r.err.constData());
    if (!expected.startsWith(QLatin1String("--")))
        QVERIFY2(QString::fromUtf8(r.err).contains(path), r.err.constData());
    QVERIFY(r.out.isEmpty());
    // --batch alone is a usage error too.
    const CliResult alone = runCli({QStringLiteral("run"), QStringLiteral("--local"), chunks(QStringLiteral("stories260K")),
                                    QStringLiteral("--prompt"), QStringLiteral("a"), QStringLiteral("--batch"), QStringLiteral("4")});
    QCOMPARE(alone.exitCode, 2);
}

QTEST_GUILESS_MAIN(TestBatchRun)
#include "tst_batchrun.moc"
