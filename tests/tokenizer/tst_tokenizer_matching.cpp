// How tokenizer.json text is cut before the model: "Regex" patterns mean what they mean to
// Oniguruma (which the tokenizers library compiles them with), and added tokens match with their
// lstrip / rstrip / single_word / normalized options as the tokenizers library does. A component
// that is not supported is an error naming it.
#include "tokenizer/addedtokensplitter.h"
#include "tokenizer/jsonpattern.h"
#include "tokenizer/jsontokenizer.h"

#include "base/error.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QtTest>

using namespace surfing;

namespace {

const QString llama3Pattern = QStringLiteral(
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");

QStringList matches(const JsonPattern &pattern, const QString &text)
{
    QStringList result;
    for (const PatternPart &part : pattern.parts(text)) {
        if (part.isMatch)
            result.append(part.text);
    }
    return result;
}

QList<QPair<QString, QString>> segments(const AddedTokenSplitter &splitter, const QString &text)
{
    QList<QPair<QString, QString>> result;
    for (const TextSegment &segment : splitter.split(text))
        result.append({segment.text, segment.token});
    return result;
}

} // namespace

class TestTokenizerMatching : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void onigurumaMeaning_data();
    void onigurumaMeaning();
    void translation();
    void addedTokenOptions();
    void normalizedAddedTokens();
    void unsupportedComponentsAreNamed_data();
    void unsupportedComponentsAreNamed();
};

// Expected matches as Oniguruma 6.9.8 gives them (onig_search, UTF-8, Oniguruma syntax).
void TestTokenizerMatching::onigurumaMeaning_data()
{
    QTest::addColumn<QString>("pattern");
    QTest::addColumn<QString>("text");
    QTest::addColumn<QStringList>("expected");
    QString qwenPattern = llama3Pattern;
    qwenPattern.replace(QStringLiteral("\\p{N}{1,3}"), QStringLiteral("\\p{N}"));
    // U+180E (Mongolian vowel separator) is no space to Oniguruma; PCRE2's \s takes it.
    QTest::newRow("llama3 U+180E") << llama3Pattern << QStringLiteral(".\uFE0F\u2018\u180E1R\u205F")
                                   << QStringList {".\uFE0F\u2018\u180E", "1", "R", "\u205F"};
    QTest::newRow("llama3 mixed") << llama3Pattern << QStringLiteral("\u216BZ\u200B\U0001F600\u3007\uFB05t\f\u180E")
                                  << QStringList {"\u216B", "Z", "\u200B\U0001F600", "\u3007", "\uFB05t", "\f", "\u180E"};
    QTest::newRow("qwen spaces and digits") << qwenPattern << QStringLiteral("x \u180E\u00A0 12345\u3000\u3000y")
        << QStringList {"x", " \u180E", "\u00A0", " ", "1", "2", "3", "4", "5", "\u3000", "\u3000y"};
    // \w: letters, marks, decimal digits, connectors, and Latin-1's superscripts and fractions.
    QTest::newRow("word class") << QStringLiteral("\\w+|[^\\w\\s]+")
        << QStringLiteral("d\u00B2t\U00010400\u00DF e\u0301x-\u2460\u2460 a_b\u203Fc")
        << QStringList {"d\u00B2t\U00010400\u00DF", "e\u0301x", "-\u2460\u2460", "a_b\u203Fc"};
    QTest::newRow("word class inside a class") << QStringLiteral("[^\\w\\s]+") << QStringLiteral(",\u00B2x \u00BD!")
                                               << QStringList {",\u00B2", "\u00BD!"};
    QTest::newRow("word class both ways") << QStringLiteral("\\w+|[^\\w\\s]+") << QStringLiteral("a\u00B2, \u00B2!")
                                          << QStringList {"a\u00B2", ",", "\u00B2", "!"};
    QTest::newRow("hex digit") << QStringLiteral("\\h+") << QStringLiteral("cafe babe zz") << QStringList {"cafe", "babe"};
    QTest::newRow("$ at line ends") << QStringLiteral("a$") << QStringLiteral("a\nba") << QStringList {"a", "a"};
    QTest::newRow("^ at line starts") << QStringLiteral("^b") << QStringLiteral("a\nb\nbb") << QStringList {"b", "b"};
    QTest::newRow("inside a class") << QStringLiteral("[\\s\\w]+") << QStringLiteral("a\u180Eb c\u0301-d")
                                    << QStringList {"a", "b c\u0301", "d"};
    QTest::newRow("negated class") << QStringLiteral("[^\\s]+") << QStringLiteral("a\u180Eb c") << QStringList {"a\u180Eb", "c"};
    QTest::newRow("posix class") << QStringLiteral("[[:alpha:]\\s]+") << QStringLiteral("ab c1") << QStringList {"ab c"};
    QTest::newRow("escaped backslash") << QStringLiteral("\\\\s") << QStringLiteral("a\\sb") << QStringList {"\\s"};
}

void TestTokenizerMatching::onigurumaMeaning()
{
    QFETCH(QString, pattern);
    QFETCH(QString, text);
    QFETCH(QStringList, expected);
    const JsonPattern compiled = JsonPattern::parse(QJsonObject {{"Regex", pattern}}, QStringLiteral("test"),
                                                    QStringLiteral("test"));
    QCOMPARE(matches(compiled, text), expected);
}

void TestTokenizerMatching::translation()
{
    QCOMPARE(JsonPattern::fromOniguruma(QStringLiteral("\\s+(?!\\S)")),
             QStringLiteral("[\\t-\\r\\x{85}\\p{Z}]+(?![^\\t-\\r\\x{85}\\p{Z}])"));
    QCOMPARE(JsonPattern::fromOniguruma(QStringLiteral("[^\\s\\p{L}]\\p{N}\\d")),
             QStringLiteral("[^\\t-\\r\\x{85}\\p{Z}\\p{L}]\\p{N}\\d"));
    QCOMPARE(JsonPattern::fromOniguruma(QStringLiteral("[]\\s][^]\\S]")), QStringLiteral("[]\\t-\\r\\x{85}\\p{Z}][^]\\S]"));
}

// The cases of the tokenizers library's own tests for AddedVocabulary.
void TestTokenizerMatching::addedTokenOptions()
{
    using Segments = QList<QPair<QString, QString>>;
    const AddedTokenSplitter singleWord({AddedTokenSpec {"<mask>", false, false, true}});
    QCOMPARE(segments(singleWord, QStringLiteral("<mask> my name <mask> a<mask> <mask>ony <mask>")),
             Segments({{"<mask>", "<mask>"}, {" my name ", ""}, {"<mask>", "<mask>"},
                       {" a<mask> <mask>ony ", ""}, {"<mask>", "<mask>"}}));
    // Punctuation is no word character, a combining mark is.
    QCOMPARE(segments(singleWord, QStringLiteral("<mask>, <mask>- \u25CC\u0330<mask>")),
             Segments({{"<mask>", "<mask>"}, {", ", ""}, {"<mask>", "<mask>"}, {"- \u25CC\u0330<mask>", ""}}));
    const AddedTokenSplitter stripping({AddedTokenSpec {"<mask>", true, true, true}});
    QCOMPARE(segments(stripping, QStringLiteral("hi <mask> there\t<mask>\t<mask>\u2000")),
             Segments({{"hi", ""}, {" <mask> ", "<mask>"}, {"there", ""}, {"\t<mask>\t", "<mask>"},
                       {"<mask>\u2000", "<mask>"}}));
    // Plain lists (vocab.txt, vocab.json tokenizers) match anywhere and take nothing around them.
    QCOMPARE(segments(AddedTokenSplitter(QStringList {"<s>", "<s>x"}), QStringLiteral("a <s>x<s> b")),
             Segments({{"a ", ""}, {"<s>x", "<s>x"}, {"<s>", "<s>"}, {" b", ""}}));
}

// [CLS] My name is Anthony [SEP] with a Lowercase normalizer: "my" (normalized, lstrip, rstrip)
// matches in the lowercased text, "ony" (single_word) does not match inside "anthony".
void TestTokenizerMatching::normalizedAddedTokens()
{
    const QJsonObject vocab {{"is", 0}, {"anthony", 1}, {"[UNK]", 2}};
    auto added = [](int id, const char *content, bool special, bool normalized, bool strip, bool singleWord) {
        return QJsonObject {{"id", id}, {"content", content}, {"special", special}, {"normalized", normalized},
                            {"lstrip", strip}, {"rstrip", strip}, {"single_word", singleWord}};
    };
    const QJsonObject json {
        {"added_tokens", QJsonArray {added(10, "my", false, true, true, false), added(11, "name", false, true, false, false),
                                     added(12, "ony", false, true, false, true), added(13, "[CLS]", true, false, false, false),
                                     added(14, "[SEP]", true, false, false, false)}},
        {"normalizer", QJsonObject {{"type", "Lowercase"}}},
        {"pre_tokenizer", QJsonObject {{"type", "WhitespaceSplit"}}},
        {"model", QJsonObject {{"type", "WordLevel"}, {"vocab", vocab}, {"unk_token", "[UNK]"}}},
    };
    const JsonTokenizer tokenizer(json, QStringLiteral("test"), TokenizerConfig());
    QCOMPARE(tokenizer.encode(QStringLiteral("[CLS] My name is Anthony [SEP]")).ids, QVector<qint64>({13, 10, 11, 0, 1, 14}));
    // Not normalized: "[cls]" is no [CLS].
    QCOMPARE(tokenizer.encode(QStringLiteral("[cls] MY")).ids, QVector<qint64>({2, 10}));
}

void TestTokenizerMatching::unsupportedComponentsAreNamed_data()
{
    QTest::addColumn<QString>("key");
    QTest::addColumn<QJsonObject>("component");
    QTest::addColumn<QString>("expected");
    const QJsonObject bpe {{"type", "BPE"}, {"vocab", QJsonObject {{"a", 0}}}, {"merges", QJsonArray {}}};
    QTest::newRow("pre_tokenizer type") << "pre_tokenizer" << QJsonObject {{"type", "UnicodeScripts"}}
                                        << "unsupported pre_tokenizer type \"UnicodeScripts\"";
    QTest::newRow("inside a Sequence") << "pre_tokenizer"
        << QJsonObject {{"type", "Sequence"}, {"pretokenizers", QJsonArray {QJsonObject {{"type", "ByteLevel"}},
                                                                          QJsonObject {{"type", "CharDelimiterSplit"}}}}}
        << "unsupported pre_tokenizer type \"CharDelimiterSplit\"";
    QTest::newRow("Split behavior") << "pre_tokenizer"
        << QJsonObject {{"type", "Split"}, {"pattern", QJsonObject {{"String", " "}}}, {"behavior", "Bogus"}}
        << "pre_tokenizer Split has an unsupported behavior \"Bogus\"";
    QTest::newRow("Split regex") << "pre_tokenizer"
        << QJsonObject {{"type", "Split"}, {"pattern", QJsonObject {{"Regex", "(a"}}}, {"behavior", "Isolated"}}
        << "pre_tokenizer Split has an invalid regex";
    QTest::newRow("Metaspace scheme") << "pre_tokenizer" << QJsonObject {{"type", "Metaspace"}, {"prepend_scheme", "sometimes"}}
                                      << "Metaspace has an unsupported prepend_scheme \"sometimes\"";
    QTest::newRow("normalizer") << "normalizer" << QJsonObject {{"type", "Precompiled"}}
                                << "unsupported normalizer type \"Precompiled\"";
    QTest::newRow("model type") << "model" << QJsonObject {{"type", "Unigram"}, {"vocab", QJsonObject {}}}
                                << "unsupported model type \"Unigram\"";
    QJsonObject dropout = bpe;
    dropout.insert("dropout", 0.1);
    QTest::newRow("BPE dropout") << "model" << dropout << "model.dropout 0.1 is not supported";
    QTest::newRow("decoder") << "decoder" << QJsonObject {{"type", "CTC"}} << "unsupported decoder type \"CTC\"";
    QTest::newRow("post_processor") << "post_processor" << QJsonObject {{"type", "Bogus"}}
                                    << "unsupported post_processor type \"Bogus\"";
}

void TestTokenizerMatching::unsupportedComponentsAreNamed()
{
    QFETCH(QString, key);
    QFETCH(QJsonObject, component);
    QFETCH(QString, expected);
    QJsonObject json {{"model", QJsonObject {{"type", "BPE"}, {"vocab", QJsonObject {{"a", 0}}}, {"merges", QJsonArray {}}}}};
    json.insert(key, component);
    try {
        JsonTokenizer tokenizer(json, QStringLiteral("/models/x/tokenizer.json"), TokenizerConfig());
        QFAIL("accepted");
    } catch (const Error &error) {
        QVERIFY2(error.message().startsWith(QStringLiteral("/models/x/tokenizer.json: ")), qPrintable(error.message()));
        QVERIFY2(error.message().contains(expected), qPrintable(error.message()));
    }
}

QTEST_GUILESS_MAIN(TestTokenizerMatching)
#include "tst_tokenizer_matching.moc"
