// tokenizer.json pipelines other than stories260K's: the BERT and GPT-2 goldens again, through
// tokenizer.json files written the way the `tokenizers` library converts those two models.
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

QJsonObject type(const char *name, QJsonObject fields = {})
{
    fields.insert(QStringLiteral("type"), QLatin1String(name));
    return fields;
}

QJsonObject bertVocab(const QString &vocabTxt)
{
    QJsonObject vocab;
    const QList<QByteArray> lines = test::readFile(vocabTxt).split('\n');
    for (qsizetype id = 0; id < lines.size(); ++id) {
        if (!lines[id].isEmpty())
            vocab.insert(QString::fromUtf8(lines[id]), id);
    }
    return vocab;
}

QJsonObject special(const char *token, int typeId)
{
    return {{"SpecialToken", QJsonObject {{"id", token}, {"type_id", typeId}}}};
}

QJsonObject sequence(const char *id, int typeId)
{
    return {{"Sequence", QJsonObject {{"id", id}, {"type_id", typeId}}}};
}

QJsonObject bertTokenizerJson(const QString &modelDir)
{
    const QJsonObject specials {
        {"[CLS]", QJsonObject {{"id", "[CLS]"}, {"ids", QJsonArray {101}}, {"tokens", QJsonArray {"[CLS]"}}}},
        {"[SEP]", QJsonObject {{"id", "[SEP]"}, {"ids", QJsonArray {102}}, {"tokens", QJsonArray {"[SEP]"}}}},
    };
    QJsonArray added;
    for (const auto &[content, id] : {std::pair {"[PAD]", 0}, {"[UNK]", 100}, {"[CLS]", 101}, {"[SEP]", 102}, {"[MASK]", 103}})
        added.append(QJsonObject {{"id", id}, {"content", content}, {"special", true}});
    const QJsonArray single {special("[CLS]", 0), sequence("A", 0), special("[SEP]", 0)};
    const QJsonArray pair {special("[CLS]", 0), sequence("A", 0), special("[SEP]", 0), sequence("B", 1),
                           special("[SEP]", 1)};
    return {
        {"added_tokens", added},
        {"normalizer", type("BertNormalizer", {{"clean_text", true}, {"handle_chinese_chars", true},
                                               {"strip_accents", QJsonValue()}, {"lowercase", true}})},
        {"pre_tokenizer", type("BertPreTokenizer")},
        {"model", type("WordPiece", {{"unk_token", "[UNK]"}, {"continuing_subword_prefix", "##"},
                                     {"max_input_chars_per_word", 100},
                                     {"vocab", bertVocab(modelDir + QStringLiteral("/vocab.txt"))}})},
        {"post_processor", type("TemplateProcessing", {{"single", single},
                                                       {"pair", pair},
                                                       {"special_tokens", specials}})},
        {"decoder", type("WordPiece", {{"prefix", "##"}, {"cleanup", true}})},
    };
}

QJsonObject gpt2TokenizerJson(const QString &modelDir)
{
    QJsonArray merges;
    for (const QByteArray &line : test::readFile(modelDir + QStringLiteral("/merges.txt")).split('\n')) {
        if (!line.isEmpty() && !line.startsWith("#version"))
            merges.append(QString::fromUtf8(line));
    }
    const QJsonObject byteLevel {{"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
    return {
        {"added_tokens", QJsonArray {QJsonObject {{"id", 50256}, {"content", "<|endoftext|>"}, {"special", true}}}},
        {"normalizer", QJsonValue()},
        {"pre_tokenizer", type("ByteLevel", byteLevel)},
        {"model", type("BPE", {{"vocab", test::readJsonObject(modelDir + QStringLiteral("/vocab.json"))}, {"merges", merges}})},
        {"post_processor", type("ByteLevel", byteLevel)},
        {"decoder", type("ByteLevel", byteLevel)},
    };
}

std::unique_ptr<Tokenizer> loadWritten(const QTemporaryDir &dir, const QJsonObject &tokenizerJson)
{
    QFile file(dir.filePath(QStringLiteral("tokenizer.json")));
    if (!file.open(QIODevice::WriteOnly))
        return {};
    file.write(QJsonDocument(tokenizerJson).toJson(QJsonDocument::Compact));
    file.close();
    return Tokenizer::load(dir.path());
}

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

} // namespace

class TestTokenizerJson : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void bertWordPiece_data() { addGoldenRows(QStringLiteral("bert-random")); }
    void bertWordPiece();
    void gpt2ByteLevel_data() { addGoldenRows(QStringLiteral("gpt2-random")); }
    void gpt2ByteLevel();
    void metaspaceAndSplit();
};

void TestTokenizerJson::bertWordPiece()
{
    QFETCH(QString, path);
    const QJsonObject golden = test::readJsonObject(path);
    const QString modelDir = test::sharedModel(QStringLiteral("bert-random"));
    QTemporaryDir dir;
    QVERIFY(QFile::copy(modelDir + QStringLiteral("/tokenizer_config.json"),
                        dir.filePath(QStringLiteral("tokenizer_config.json"))));
    const auto tokenizer = loadWritten(dir, bertTokenizerJson(modelDir));
    QVERIFY(tokenizer);
    const QString text = golden.value(QStringLiteral("text")).toString();
    QVector<Encoding> rows;
    if (golden.contains(QStringLiteral("batch"))) {
        QStringList batch;
        for (const QJsonValue &item : golden.value(QStringLiteral("batch")).toArray())
            batch.append(item.toString());
        rows = tokenizer->encodeBatch(batch);
    } else if (golden.contains(QStringLiteral("text_pair"))) {
        rows = {tokenizer->encodePair(text, golden.value(QStringLiteral("text_pair")).toString())};
    } else {
        rows = {tokenizer->encode(text)};
    }
    const auto vocabTxtTokenizer = Tokenizer::load(modelDir);
    for (qsizetype row = 0; row < rows.size(); ++row) {
        QCOMPARE(rows[row].ids, test::idsFromJson(golden.value(QStringLiteral("input_ids"))[row]));
        QCOMPARE(rows[row].tokenTypeIds, test::idsFromJson(golden.value(QStringLiteral("token_type_ids"))[row]));
        QCOMPARE(rows[row].attentionMask, test::idsFromJson(golden.value(QStringLiteral("attention_mask"))[row]));
        QCOMPARE(tokenizer->decode(rows[row].ids), vocabTxtTokenizer->decode(rows[row].ids));
    }
}

void TestTokenizerJson::gpt2ByteLevel()
{
    QFETCH(QString, path);
    const QJsonObject golden = test::readJsonObject(path);
    QTemporaryDir dir;
    const auto tokenizer = loadWritten(dir, gpt2TokenizerJson(test::sharedModel(QStringLiteral("gpt2-random"))));
    QVERIFY(tokenizer);
    const QString text = golden.value(QStringLiteral("text")).toString();
    const Encoding encoding = tokenizer->encode(text);
    QCOMPARE(encoding.ids, test::idsFromJson(golden.value(QStringLiteral("input_ids"))));
    QCOMPARE(tokenizer->decode(encoding.ids), text);
}

void TestTokenizerJson::metaspaceAndSplit()
{
    QJsonObject vocab;
    const QStringList tokens = {"<unk>", "\u2581hello", "\u2581world", "\u2581", "1", "2", "!", "<s>", "hello"};
    for (qsizetype id = 0; id < tokens.size(); ++id)
        vocab.insert(tokens[id], id);
    const QJsonObject json {
        {"added_tokens", QJsonArray {QJsonObject {{"id", 7}, {"content", "<s>"}, {"special", true}}}},
        {"pre_tokenizer", type("Sequence", {{"pretokenizers", QJsonArray {
            type("Digits", {{"individual_digits", true}}),
            type("Metaspace", {{"replacement", "\u2581"}, {"prepend_scheme", "first"}, {"split", true}}),
        }}})},
        {"model", type("WordLevel", {{"vocab", vocab}, {"unk_token", "<unk>"}})},
        {"decoder", type("Metaspace", {{"replacement", "\u2581"}, {"prepend_scheme", "first"}})},
    };
    QTemporaryDir dir;
    const auto tokenizer = loadWritten(dir, json);
    QVERIFY(tokenizer);
    const Encoding encoding = tokenizer->encode(QStringLiteral("hello world12! x"));
    QCOMPARE(encoding.tokens, QStringList({"\u2581hello", "\u2581world", "1", "2", "!", "<unk>"}));
    QCOMPARE(tokenizer->decode({1, 2, 4}), QStringLiteral("hello world1"));
    // prepend_scheme "first": no "▁" after an added token.
    QCOMPARE(tokenizer->encode(QStringLiteral("<s>hello")).tokens, QStringList({"<s>", "hello"}));
}

QTEST_GUILESS_MAIN(TestTokenizerJson)
#include "tst_tokenizer_json.moc"
