// The real Llama 3 and Qwen2/Qwen3 tokenizer.json files against every tokenization golden of the
// shared models (text -> ids with and without special tokens, token strings, decode).
#include "testsupport.h"
#include "tokenizer/tokenizer.h"

#include <QDir>
#include <QHash>
#include <QJsonArray>
#include <QJsonObject>
#include <QtTest>

using namespace surfing;

namespace {

const QStringList familyModels = {QStringLiteral("llama3-random"), QStringLiteral("qwen2-random"),
                                  QStringLiteral("qwen3-random"), QStringLiteral("qwen3moe-random")};

QStringList toStrings(const QJsonValue &value)
{
    QStringList strings;
    for (const QJsonValue &item : value.toArray())
        strings.append(item.toString());
    return strings;
}

// Loading the 128k/151k vocabularies takes a while: once per model for all its cases.
const Tokenizer &sharedTokenizer(const QString &model)
{
    static QHash<QString, std::shared_ptr<Tokenizer>> loaded;
    if (!loaded.contains(model))
        loaded.insert(model, std::shared_ptr<Tokenizer>(Tokenizer::load(test::sharedModel(model))));
    return *loaded.value(model);
}

} // namespace

class TestTokenizerFamilies : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void golden_data();
    void golden();
    void modelGoldenPromptIds_data();
    void modelGoldenPromptIds();
};

void TestTokenizerFamilies::golden_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<QJsonObject>("golden");
    if (test::sharedModelsDir().isEmpty())
        QSKIP("shared models not found (SURFING_SHARED_MODELS)");
    for (const QString &model : familyModels) {
        const QJsonObject file = test::readJsonObject(test::sharedModel(model) + QStringLiteral("/golden/tokenization.json"));
        const QJsonArray cases = file.value(QStringLiteral("cases")).toArray();
        QVERIFY(!cases.isEmpty());
        for (const QJsonValue &item : cases) {
            const QJsonObject golden = item.toObject();
            const QString name = model + QLatin1Char(' ') + golden.value(QStringLiteral("name")).toString();
            QTest::newRow(qPrintable(name)) << model << golden;
        }
    }
}

void TestTokenizerFamilies::golden()
{
    QFETCH(QString, model);
    QFETCH(QJsonObject, golden);
    const Tokenizer &tokenizer = sharedTokenizer(model);
    const QString text = golden.value(QStringLiteral("text")).toString();
    QCOMPARE(text.toUtf8().toHex(), golden.value(QStringLiteral("text_utf8_hex")).toString().toLatin1());

    const Encoding encoding = tokenizer.encode(text);
    QCOMPARE(encoding.ids, test::idsFromJson(golden.value(QStringLiteral("ids"))));
    QCOMPARE(encoding.tokens, toStrings(golden.value(QStringLiteral("tokens"))));
    QCOMPARE(tokenizer.encode(text, false).ids,
             test::idsFromJson(golden.value(QStringLiteral("ids_add_special_tokens_false"))));
    QCOMPARE(tokenizer.decode(encoding.ids, false), golden.value(QStringLiteral("decoded")).toString());
    QCOMPARE(tokenizer.decode(encoding.ids, true),
             golden.value(QStringLiteral("decoded_skip_special_tokens")).toString());
}

// The prompts of the model goldens (01_short, 02_chat, 03_long) tokenize to their input_ids.
void TestTokenizerFamilies::modelGoldenPromptIds_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("path");
    if (test::sharedModelsDir().isEmpty())
        QSKIP("shared models not found (SURFING_SHARED_MODELS)");
    for (const QString &model : familyModels) {
        const QDir golden(test::sharedModel(model) + QStringLiteral("/golden"));
        for (const QString &name : golden.entryList({QStringLiteral("0*.json")}, QDir::Files, QDir::Name))
            QTest::newRow(qPrintable(model + QLatin1Char(' ') + name)) << model << golden.filePath(name);
    }
}

void TestTokenizerFamilies::modelGoldenPromptIds()
{
    QFETCH(QString, model);
    QFETCH(QString, path);
    const QJsonObject golden = test::readJsonObject(path);
    if (!golden.contains(QStringLiteral("text")))
        QSKIP("an id-only case");
    const QString call = golden.value(QStringLiteral("tokenizer_call")).toString();
    const bool addSpecial = !call.contains(QLatin1String("add_special_tokens=False"));
    const Encoding encoding = sharedTokenizer(model).encode(golden.value(QStringLiteral("text")).toString(), addSpecial);
    QCOMPARE(encoding.ids, test::idsFromJson(golden.value(QStringLiteral("input_ids"))[0]));
}

QTEST_GUILESS_MAIN(TestTokenizerFamilies)
#include "tst_tokenizer_families.moc"
