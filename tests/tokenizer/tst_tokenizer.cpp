// Tokenizers against the goldens made by Hugging Face transformers, round trips and load errors.
#include "testsupport.h"
#include "tokenizer/tokenizer.h"

#include "base/error.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

using namespace surfing;

namespace {

QStringList toStrings(const QJsonValue &value)
{
    QStringList strings;
    for (const QJsonValue &item : value.toArray())
        strings.append(item.toString());
    return strings;
}

// One row per golden/*.json of a shared model.
void addGoldenRows(const QString &model)
{
    QTest::addColumn<QString>("path");
    const QString dir = test::sharedModel(model);
    if (dir.isEmpty())
        QSKIP("shared models not found (SURFING_SHARED_MODELS)");
    const QDir golden(dir + QStringLiteral("/golden"));
    for (const QString &name : golden.entryList({QStringLiteral("*.json")}, QDir::Files, QDir::Name))
        QTest::newRow(qPrintable(name)) << golden.filePath(name);
}

std::unique_ptr<Tokenizer> loadShared(const QString &model)
{
    return Tokenizer::load(test::sharedModel(model));
}

void writeFile(const QString &path, const QByteArray &bytes)
{
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(bytes);
}

} // namespace

class TestTokenizer : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void bertGolden_data() { addGoldenRows(QStringLiteral("bert-random")); }
    void bertGolden();
    void gpt2Golden_data() { addGoldenRows(QStringLiteral("gpt2-random")); }
    void gpt2Golden();
    void storiesGolden_data();
    void storiesGolden();
    void roundTrip_data();
    void roundTrip();
    void specialTokens();
    void leftPadding();
    void loadErrorsNameTheFile();
    void unknownComponentIsNamed();
    void vocabIdOutOfRange_data();
    void vocabIdOutOfRange();
};

void TestTokenizer::bertGolden()
{
    QFETCH(QString, path);
    const QJsonObject golden = test::readJsonObject(path);
    const auto tokenizer = loadShared(QStringLiteral("bert-random"));
    QVector<Encoding> rows;
    if (golden.contains(QStringLiteral("batch")))
        rows = tokenizer->encodeBatch(toStrings(golden.value(QStringLiteral("batch"))));
    else if (golden.contains(QStringLiteral("text_pair")))
        rows = {tokenizer->encodePair(golden.value(QStringLiteral("text")).toString(),
                                      golden.value(QStringLiteral("text_pair")).toString())};
    else
        rows = {tokenizer->encode(golden.value(QStringLiteral("text")).toString())};
    QCOMPARE(rows.size(), golden.value(QStringLiteral("input_ids")).toArray().size());
    for (qsizetype row = 0; row < rows.size(); ++row) {
        QCOMPARE(rows[row].tokens, toStrings(golden.value(QStringLiteral("tokens"))[row]));
        QCOMPARE(rows[row].ids, test::idsFromJson(golden.value(QStringLiteral("input_ids"))[row]));
        QCOMPARE(rows[row].tokenTypeIds, test::idsFromJson(golden.value(QStringLiteral("token_type_ids"))[row]));
        QCOMPARE(rows[row].attentionMask, test::idsFromJson(golden.value(QStringLiteral("attention_mask"))[row]));
    }
}

void TestTokenizer::gpt2Golden()
{
    QFETCH(QString, path);
    const QJsonObject golden = test::readJsonObject(path);
    const auto tokenizer = loadShared(QStringLiteral("gpt2-random"));
    const QString text = golden.value(QStringLiteral("text")).toString();
    const Encoding encoding = tokenizer->encode(text);
    QCOMPARE(encoding.tokens, toStrings(golden.value(QStringLiteral("tokens"))));
    QCOMPARE(encoding.ids, test::idsFromJson(golden.value(QStringLiteral("input_ids"))));
    QCOMPARE(tokenizer->decode(encoding.ids), text);
    const QJsonObject greedy = golden.value(QStringLiteral("greedy")).toObject();
    if (!greedy.isEmpty()) {
        const QVector<qint64> newIds = test::idsFromJson(greedy.value(QStringLiteral("new_ids")));
        QCOMPARE(tokenizer->decode(newIds), greedy.value(QStringLiteral("new_text")).toString());
    }
}

void TestTokenizer::storiesGolden_data()
{
    QTest::addColumn<QJsonObject>("prompt");
    const QString dir = test::sharedModel(QStringLiteral("stories260K"));
    if (dir.isEmpty())
        QSKIP("shared models not found (SURFING_SHARED_MODELS)");
    const QJsonArray prompts = test::readJsonObject(dir + QStringLiteral("/golden/prompts.json")).value(QStringLiteral("prompts")).toArray();
    for (qsizetype i = 0; i < prompts.size(); ++i)
        QTest::newRow(qPrintable(QStringLiteral("prompt %1").arg(i + 1))) << prompts[i].toObject();
}

void TestTokenizer::storiesGolden()
{
    QFETCH(QJsonObject, prompt);
    const auto tokenizer = loadShared(QStringLiteral("stories260K"));
    const QVector<qint64> ids = test::idsFromJson(prompt.value(QStringLiteral("ids")));
    const QVector<qint64> greedyIds = test::idsFromJson(prompt.value(QStringLiteral("greedy_ids")));
    QCOMPARE(tokenizer->encode(prompt.value(QStringLiteral("prompt")).toString()).ids, ids);
    QCOMPARE(tokenizer->decode(greedyIds), prompt.value(QStringLiteral("greedy_text")).toString());
    QCOMPARE(tokenizer->decode(ids + greedyIds), prompt.value(QStringLiteral("full_text")).toString());
}

void TestTokenizer::roundTrip_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("text");
    QTest::newRow("bert") << "bert-random" << "the quick brown fox jumped over 3 lazy dogs, twice!";
    QTest::newRow("bert apostrophes") << "bert-random" << "it's done, isn't it?";
    QTest::newRow("gpt2 ascii") << "gpt2-random" << " Hello\tworld\n\n  spaced   out";
    QTest::newRow("gpt2 unicode") << "gpt2-random" << QStringLiteral("naïve 🤗 中文 ümlaut's");
    QTest::newRow("stories") << "stories260K" << QStringLiteral("Lily saw a big dog.\nIt was happy!");
    QTest::newRow("stories bytes") << "stories260K" << QStringLiteral("crème brûlée 🍰 and 中文");
    QTest::newRow("stories spaces") << "stories260K" << QStringLiteral("  two leading spaces");
}

void TestTokenizer::roundTrip()
{
    QFETCH(QString, model);
    QFETCH(QString, text);
    if (test::sharedModel(model).isEmpty())
        QSKIP("shared models not found (SURFING_SHARED_MODELS)");
    const auto tokenizer = loadShared(model);
    QCOMPARE(tokenizer->decode(tokenizer->encode(text).ids), text);
    QCOMPARE(tokenizer->decode(tokenizer->encode(text, false).ids), text);
}

void TestTokenizer::specialTokens()
{
    if (test::sharedModelsDir().isEmpty())
        QSKIP("shared models not found (SURFING_SHARED_MODELS)");
    const auto bert = loadShared(QStringLiteral("bert-random"));
    QCOMPARE(bert->padId(), std::optional<qint64>(0));
    QCOMPARE(bert->tokenToId(QStringLiteral("[CLS]")), std::optional<qint64>(101));
    QCOMPARE(bert->encode(QStringLiteral("[CLS] hi [MASK]"), false).tokens,
             QStringList({"[CLS]", "hi", "[MASK]"}));
    QCOMPARE(bert->decode(bert->encode(QStringLiteral("hi")).ids, false), QStringLiteral("[CLS] hi [SEP]"));
    QCOMPARE(bert->vocabSize(), 30522);

    const auto gpt2 = loadShared(QStringLiteral("gpt2-random"));
    QCOMPARE(gpt2->eosId(), std::optional<qint64>(50256));
    QCOMPARE(gpt2->encode(QStringLiteral("a<|endoftext|>b")).ids, QVector<qint64>({64, 50256, 65}));
    QCOMPARE(gpt2->decode({64, 50256, 65}), QStringLiteral("ab"));

    const auto stories = loadShared(QStringLiteral("stories260K"));
    QCOMPARE(stories->bosId(), std::optional<qint64>(1));
    QCOMPARE(stories->eosId(), std::optional<qint64>(2));
    QCOMPARE(stories->encode(QString()).ids, QVector<qint64>({1}));
    QCOMPARE(stories->encode(QString(), false).ids, QVector<qint64>());
    QCOMPARE(stories->vocabSize(), 512);
    QCOMPARE(stories->decode({1, 2}, false), QStringLiteral("<s></s>"));
}

void TestTokenizer::leftPadding()
{
    Encoding shortOne {{7}, {0}, {1}, {"a"}};
    Encoding longOne {{1, 2, 3}, {0, 0, 1}, {1, 1, 1}, {"x", "y", "z"}};
    QVector<Encoding> batch {shortOne, longOne};
    padBatch(batch, 9, QStringLiteral("<pad>"), PaddingSide::Left);
    QCOMPARE(batch[0].ids, QVector<qint64>({9, 9, 7}));
    QCOMPARE(batch[0].attentionMask, QVector<qint64>({0, 0, 1}));
    QCOMPARE(batch[0].tokens, QStringList({"<pad>", "<pad>", "a"}));
    QCOMPARE(batch[1].tokenTypeIds, QVector<qint64>({0, 0, 1}));
}

void TestTokenizer::loadErrorsNameTheFile()
{
    QTemporaryDir dir;
    QVERIFY_THROWS_EXCEPTION(Error, Tokenizer::load(dir.path()));
    writeFile(dir.filePath(QStringLiteral("tokenizer.json")), "{not json");
    try {
        Tokenizer::load(dir.path());
        QFAIL("invalid tokenizer.json accepted");
    } catch (const Error &error) {
        QVERIFY2(error.message().contains(QStringLiteral("tokenizer.json")), qPrintable(error.message()));
    }
}

void TestTokenizer::unknownComponentIsNamed()
{
    QTemporaryDir dir;
    writeFile(dir.filePath(QStringLiteral("tokenizer.json")),
              R"({"model": {"type": "WordLevel", "vocab": {"a": 0}, "unk_token": "a"},
                  "normalizer": {"type": "Precompiled", "precompiled_charsmap": ""}})");
    try {
        Tokenizer::load(dir.path());
        QFAIL("unknown normalizer accepted");
    } catch (const Error &error) {
        QVERIFY2(error.message().contains(QStringLiteral("tokenizer.json"))
                     && error.message().contains(QStringLiteral("Precompiled")),
                 qPrintable(error.message()));
    }
}

void TestTokenizer::vocabIdOutOfRange_data()
{
    QTest::addColumn<QByteArray>("id");
    // Found by fuzz_tokenizer: 2.2e96 was converted to qint64 before the range check (UBSan aborts).
    QTest::newRow("huge") << QByteArray("2.22222e+96");
    QTest::newRow("above 1e9") << QByteArray("1000000001");
    QTest::newRow("negative") << QByteArray("-1");
    QTest::newRow("fraction") << QByteArray("0.5");
}

void TestTokenizer::vocabIdOutOfRange()
{
    QFETCH(QByteArray, id);
    QTemporaryDir dir;
    writeFile(dir.filePath(QStringLiteral("tokenizer.json")),
              R"({"model": {"type": "WordLevel", "vocab": {"a": 0, "b": )" + id + R"(}, "unk_token": "a"}})");
    try {
        Tokenizer::load(dir.path());
        QFAIL("out-of-range vocabulary id accepted");
    } catch (const Error &error) {
        QVERIFY2(error.message().contains(QStringLiteral("token \"b\" has no valid id")), qPrintable(error.message()));
    }
}

QTEST_GUILESS_MAIN(TestTokenizer)
#include "tst_tokenizer.moc"
