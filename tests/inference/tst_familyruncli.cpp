// `surfing-cli run` on the Llama 3 / Qwen2 / Qwen3 / Qwen3-MoE goldens, from token ids: locally
// and through a real `surfing-cli serve` process over loopback. --json carries prompt_ids and
// ids (the golden's), --dump-tensors the logits (the golden's rows within 1e-3); Qwen3-MoE also
// through a server with a client cache smaller than its experts, with experts counted in stats.
#include "goldens.h"
#include "serveprocess.h"
#include "testsupport.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QtTest>

using namespace surfing::test;

namespace {

const QStringList kModels{QStringLiteral("llama3-random"), QStringLiteral("qwen2-random"), QStringLiteral("qwen3-random"),
                          QStringLiteral("qwen3moe-random")};
const QStringList kCases{QStringLiteral("01_short"), QStringLiteral("02_chat"), QStringLiteral("03_long")};

QString goldenPath(const QString &model, const QString &name)
{
    return sharedModel(model) + QStringLiteral("/golden/") + name;
}

QString idsArgument(const QJsonObject &golden)
{
    QStringList ids;
    for (int64_t id : toIds(golden.value(QLatin1String("input_ids")).toArray().at(0)))
        ids << QString::number(id);
    return ids.join(QLatin1Char(','));
}

std::vector<int64_t> greedyIds(const QJsonObject &golden)
{
    return toIds(golden.value(QLatin1String("greedy")).toObject().value(QLatin1String("new_ids")).toArray().at(0));
}

} // namespace

class TestFamilyRunCli : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_tmp;
    QString chunks(const QString &model);
    QJsonObject runJson(const QStringList &args);
    // Runs every golden case of `model` from `source` args (--local DIR or --server URL).
    void checkCases(const QString &model, const QStringList &source);

private Q_SLOTS:
    void initTestCase();
    void localRunsMatchGoldens_data();
    void localRunsMatchGoldens();
    void serverRunsMatchGoldens_data();
    void serverRunsMatchGoldens();
    void moeThroughServerWithSmallCache();
};

QString TestFamilyRunCli::chunks(const QString &model)
{
    const QString out = m_tmp.filePath(model);
    if (!QFile::exists(out + QStringLiteral("/chunk_info.json"))) {
        const CliResult r = runCli({QStringLiteral("chunk"), sharedModel(model), QStringLiteral("-o"), out, QStringLiteral("--compress")});
        if (r.exitCode != 0)
            qWarning() << r.err;
    }
    return out;
}

QJsonObject TestFamilyRunCli::runJson(const QStringList &args)
{
    const CliResult r = runCli(QStringList{QStringLiteral("run"), QStringLiteral("--json")} + args);
    if (r.exitCode != 0)
        qWarning().noquote() << r.err;
    return QJsonDocument::fromJson(r.out).object();
}

void TestFamilyRunCli::initTestCase()
{
    if (sharedModelsDir().isEmpty() || !QFile::exists(sharedModel(QStringLiteral("qwen3moe-random")) + QStringLiteral("/config.json")))
        QSKIP("../shared/models with the Llama 3 / Qwen goldens is not available");
    QVERIFY(m_tmp.isValid());
}

void TestFamilyRunCli::checkCases(const QString &model, const QStringList &source)
{
    for (const QString &name : kCases) {
        const QJsonObject golden = readJson(goldenPath(model, name) + QStringLiteral(".json"));
        const QString dump = m_tmp.filePath(model + name + QStringLiteral(".safetensors"));
        const QJsonObject out = runJson(source + QStringList{QStringLiteral("--ids"), idsArgument(golden), QStringLiteral("--max-tokens"),
                                                             QStringLiteral("20"), QStringLiteral("--dump-tensors"), dump});
        QCOMPARE(toIds(out.value(QLatin1String("prompt_ids"))), toIds(golden.value(QLatin1String("input_ids")).toArray().at(0)));
        QCOMPARE(toIds(out.value(QLatin1String("ids"))), greedyIds(golden));
        const QString st = goldenPath(model, name) + QStringLiteral(".safetensors");
        const at::Tensor positions = goldenTensor(st, QStringLiteral("logits_rows_positions")).flatten();
        const at::Tensor logits = goldenTensor(dump, QStringLiteral("logits"));
        const double d = maxAbsDiff(logits.index_select(1, positions), goldenTensor(st, QStringLiteral("logits_rows")));
        QVERIFY2(d <= 1e-3, qPrintable(QStringLiteral("%1 %2: logits differ by %3").arg(model, name).arg(d)));
        QFile::remove(dump);
    }
}

void TestFamilyRunCli::localRunsMatchGoldens_data()
{
    QTest::addColumn<QString>("model");
    for (const QString &m : kModels)
        QTest::newRow(qPrintable(m)) << m;
}

void TestFamilyRunCli::localRunsMatchGoldens()
{
    QFETCH(QString, model);
    checkCases(model, {QStringLiteral("--local"), chunks(model)});
}

void TestFamilyRunCli::serverRunsMatchGoldens_data()
{
    localRunsMatchGoldens_data();
}

void TestFamilyRunCli::serverRunsMatchGoldens()
{
    QFETCH(QString, model);
    ServeProcess server;
    QVERIFY(server.start({chunks(model), QStringLiteral("--host"), QStringLiteral("127.0.0.1")}));
    checkCases(model, {QStringLiteral("--server"), server.url().toString()});
    QCOMPARE(server.terminate(), 0);
}

void TestFamilyRunCli::moeThroughServerWithSmallCache()
{
    // 30 chunks, 24 of them experts; the client keeps 6.
    const QString model = QStringLiteral("qwen3moe-random");
    ServeProcess server;
    QVERIFY(server.start({chunks(model), QStringLiteral("--host"), QStringLiteral("127.0.0.1")}));
    const QJsonObject golden = readJson(goldenPath(model, QStringLiteral("03_long")) + QStringLiteral(".json"));
    const QJsonObject out = runJson({QStringLiteral("--server"), server.url().toString(), QStringLiteral("--ids"), idsArgument(golden),
                                     QStringLiteral("--max-tokens"), QStringLiteral("20"), QStringLiteral("--cache-layers"), QStringLiteral("6")});
    QCOMPARE(server.terminate(), 0);
    QCOMPARE(toIds(out.value(QLatin1String("ids"))), greedyIds(golden));
    const QJsonObject stats = out.value(QLatin1String("stats")).toObject();
    QCOMPARE(stats.value(QLatin1String("steps")).toInt(), 20);
    // Each decode step runs top-k = 2 experts in each of 3 layers; the prompt step at most all 8.
    const int lookups = stats.value(QLatin1String("expert_lookups")).toInt();
    QVERIFY2(lookups >= 20 * 3 * 2 && lookups <= 19 * 3 * 2 + 3 * 8, qPrintable(QString::number(lookups)));
    QVERIFY(stats.value(QLatin1String("experts_fetched")).toInt() > 0);
    QVERIFY(stats.value(QLatin1String("experts_fetched_per_token")).toDouble() > 0);
    QVERIFY(stats.value(QLatin1String("expert_bytes_fetched")).toDouble() > 0);
    int expertEvents = 0;
    for (const QJsonValue &e : out.value(QLatin1String("timeline")).toArray())
        expertEvents += e.toObject().value(QLatin1String("unit")).toString().contains(QLatin1String("_expert_")) ? 1 : 0;
    QCOMPARE(expertEvents, lookups);
}

QTEST_GUILESS_MAIN(TestFamilyRunCli)
#include "tst_familyruncli.moc"
