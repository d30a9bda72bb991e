// Generation ends where the model or the user says: at any of the model's end-of-sequence ids
// (config.json, generation_config.json, the tokenizer), at a stop string (the text ends before
// it, also in the CLI's --stop), and a prompt plus reply longer than the model's positions is
// refused with the numbers. Real stories260K chunks, greedy ids from Hugging Face's goldens.
#include "base/error.h"
#include "chat/stopconditions.h"
#include "client/localchunksource.h"
#include "inference/inferencesession.h"
#include "testsupport.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

using namespace surfing;

class TestGenerationStops : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void eosIdsFromEveryFile();
    void contextLengths();
    void stopStringMatching();
    void stopStringEndsTheText();
    void everyEosIdOfAListStops();
    void replyLongerThanTheContextIsExplained();
    void cliStopOption();

private:
    InferenceResult run(const QString &chunks, const InferenceOptions &options, QString *streamed = nullptr);
    QTemporaryDir m_work;
    QString m_chunks;
    QJsonObject m_golden;
    QVector<qint64> m_greedy;
};

void TestGenerationStops::initTestCase()
{
    if (test::sharedModel(QStringLiteral("stories260K")).isEmpty())
        QSKIP("shared models not available");
    m_chunks = m_work.filePath(QStringLiteral("stories"));
    const test::CliResult r = test::runCli({QStringLiteral("chunk"), test::sharedModel(QStringLiteral("stories260K")),
                                           QStringLiteral("-o"), m_chunks});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    m_golden = test::readJsonObject(test::sharedModel(QStringLiteral("stories260K")) + QStringLiteral("/golden/prompts.json"))
                   .value(QStringLiteral("prompts")).toArray().first().toObject();
    m_greedy = test::idsFromJson(m_golden.value(QStringLiteral("greedy_ids")));
    QVERIFY(m_greedy.size() > 20);
}

InferenceResult TestGenerationStops::run(const QString &chunks, const InferenceOptions &options, QString *streamed)
{
    InferenceSession session(std::make_shared<LocalChunkSource>(chunks, 0, 0), chunks);
    session.setOptions(options);
    if (streamed)
        connect(&session, &InferenceSession::tokenGenerated, this, [streamed](qint64, const QString &delta) { *streamed += delta; });
    return session.run(m_golden.value(QStringLiteral("prompt")).toString());
}

void TestGenerationStops::eosIdsFromEveryFile()
{
    if (test::sharedModel(QStringLiteral("llama3-random")).isEmpty())
        QSKIP("shared models not available");
    QCOMPARE(eosTokenIds(test::sharedModel(QStringLiteral("llama3-random"))), (QVector<qint64>{128001, 128008, 128009}));
    // Qwen's config names <|endoftext|>; the chat turn ends with the tokenizer's <|im_end|>.
    QCOMPARE(eosTokenIds(test::sharedModel(QStringLiteral("qwen2-random")), 151645), (QVector<qint64>{151643, 151645}));
    QCOMPARE(eosTokenIds(test::sharedModel(QStringLiteral("stories260K")), 2), (QVector<qint64>{2}));
    QCOMPARE(eosTokenIds(QStringLiteral("/nonexistent")), QVector<qint64>());
}

void TestGenerationStops::contextLengths()
{
    QCOMPARE(contextLength(test::readJsonObject(test::sharedModel(QStringLiteral("stories260K")) + QStringLiteral("/config.json"))), 512);
    QCOMPARE(contextLength(QJsonObject{{"model_type", "gpt2"}, {"n_positions", 256}}), 256);
    QCOMPARE(contextLength(QJsonObject{{"model_type", "t5"}, {"n_positions", 512}}), std::nullopt);
    QCOMPARE(contextLength(QJsonObject{{"model_type", "llama"}}), std::nullopt);
}

void TestGenerationStops::stopStringMatching()
{
    const StopStrings stops({QStringLiteral("<|im_end|>"), QStringLiteral("\nUser:"), QString()});
    QCOMPARE(stops.find(QStringLiteral("Hello<|im_end|>x\nUser:")), 5);
    QCOMPARE(stops.find(QStringLiteral("Hello\nUser: hi<|im_end|>")), 5);
    QCOMPARE(stops.find(QStringLiteral("Hello")), -1);
    QCOMPARE(stops.heldBack(QStringLiteral("Hello<|im")), 4);
    QCOMPARE(stops.heldBack(QStringLiteral("Hello\nUs")), 3);
    QCOMPARE(stops.heldBack(QStringLiteral("Hello <")), 1);
    QCOMPARE(stops.heldBack(QStringLiteral("Hello")), 0);
    QVERIFY(StopStrings({QString()}).isEmpty());
}

void TestGenerationStops::stopStringEndsTheText()
{
    const QString greedyText = m_golden.value(QStringLiteral("greedy_text")).toString();
    const QString stop = QStringLiteral(" park");
    const qsizetype at = greedyText.indexOf(stop);
    QVERIFY(at > 0);
    InferenceOptions options;
    options.maxNewTokens = int(m_greedy.size());
    options.stopStrings = {stop};
    QString streamed;
    const InferenceResult r = run(m_chunks, options, &streamed);
    QCOMPARE(r.stopReason, QStringLiteral("stop_string"));
    QCOMPARE(r.text, greedyText.left(at));
    QVERIFY(r.newIds.size() < m_greedy.size());
    QCOMPARE(r.newIds, m_greedy.mid(0, r.newIds.size()));
    QCOMPARE(streamed, r.text); // nothing of the stop string reached the screen
    QVERIFY(r.toJson().value(QStringLiteral("stop_reason")).toString() == QLatin1String("stop_string"));

    options.stopStrings.clear();
    options.maxNewTokens = 5;
    QCOMPARE(run(m_chunks, options).stopReason, QStringLiteral("max_tokens"));
}

// A copy of the model whose config lists two EOS ids: the second is the golden's 6th token.
void TestGenerationStops::everyEosIdOfAListStops()
{
    const qint64 eos = m_greedy[5];
    QVERIFY(!m_greedy.mid(0, 5).contains(eos));
    const QString model = m_work.filePath(QStringLiteral("stories-eos"));
    QVERIFY(QDir().mkpath(model));
    const QDir source(test::sharedModel(QStringLiteral("stories260K")));
    for (const QString &name : source.entryList(QDir::Files))
        QVERIFY(QFile::copy(source.filePath(name), QDir(model).filePath(name)));
    QJsonObject config = test::readJsonObject(source.filePath(QStringLiteral("config.json")));
    config.insert(QStringLiteral("eos_token_id"), QJsonArray{2, double(eos)});
    QFile out(QDir(model).filePath(QStringLiteral("config.json")));
    QVERIFY(out.open(QIODevice::WriteOnly | QIODevice::Truncate));
    out.write(QJsonDocument(config).toJson());
    out.close();
    const QString chunks = m_work.filePath(QStringLiteral("stories-eos-chunks"));
    const test::CliResult r = test::runCli({QStringLiteral("chunk"), model, QStringLiteral("-o"), chunks});
    QVERIFY2(r.exitCode == 0, r.err.constData());

    InferenceOptions options;
    options.maxNewTokens = int(m_greedy.size());
    const InferenceResult result = run(chunks, options);
    QCOMPARE(result.newIds, m_greedy.mid(0, 6));
    QCOMPARE(result.stopReason, QStringLiteral("eos"));
    options.stopAtEos = false;
    QCOMPARE(run(chunks, options).newIds, m_greedy);
}

void TestGenerationStops::replyLongerThanTheContextIsExplained()
{
    InferenceOptions options;
    options.maxNewTokens = 600;
    try {
        run(m_chunks, options);
        QFAIL("600 new tokens on a 512-position model ran");
    } catch (const Error &e) {
        QVERIFY2(e.message().contains(QStringLiteral("plus max new tokens (600) is more than the 512 positions")), qPrintable(e.message()));
        QVERIFY2(e.message().contains(QStringLiteral("at most %1 new tokens").arg(512 - 16)), qPrintable(e.message()));
    }
}

void TestGenerationStops::cliStopOption()
{
    const QString greedyText = m_golden.value(QStringLiteral("greedy_text")).toString();
    const test::CliResult r = test::runCli({QStringLiteral("run"), QStringLiteral("--local"), m_chunks, QStringLiteral("--prompt"),
                                           m_golden.value(QStringLiteral("prompt")).toString(), QStringLiteral("--max-tokens"),
                                           QString::number(m_greedy.size()), QStringLiteral("--stop"), QStringLiteral("ball"),
                                           QStringLiteral("--stop"), QStringLiteral(" park")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QCOMPARE(QString::fromUtf8(r.out).trimmed(), greedyText.left(greedyText.indexOf(QStringLiteral(" park"))).trimmed());
    const test::CliResult json = test::runCli({QStringLiteral("run"), QStringLiteral("--local"), m_chunks, QStringLiteral("--prompt"),
                                              m_golden.value(QStringLiteral("prompt")).toString(), QStringLiteral("--json"),
                                              QStringLiteral("--stop"), QStringLiteral("ball")});
    QVERIFY2(json.exitCode == 0, json.err.constData());
    const QJsonObject doc = QJsonDocument::fromJson(json.out).object();
    QCOMPARE(doc.value(QStringLiteral("stop_reason")).toString(), QStringLiteral("stop_string"));
    QVERIFY(!doc.value(QStringLiteral("text")).toString().contains(QStringLiteral("ball")));
}

QTEST_GUILESS_MAIN(TestGenerationStops)
#include "tst_generationstops.moc"
