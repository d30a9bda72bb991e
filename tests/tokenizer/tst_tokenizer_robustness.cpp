// No input crashes a tokenizer or takes unbounded time: random bytes, invalid UTF-8, lone
// surrogates, empty and megabyte-long strings, for every tokenizer kind.
#include "testsupport.h"
#include "tokenizer/tokenizer.h"

#include <QElapsedTimer>
#include <QRandomGenerator>
#include <QtTest>

using namespace surfing;

namespace {

QByteArray randomBytes(QRandomGenerator &random, qsizetype size)
{
    QByteArray bytes(size, Qt::Uninitialized);
    for (char &byte : bytes)
        byte = char(random.bounded(256));
    return bytes;
}

// Text drawn from a small alphabet with letters, digits, spaces, punctuation and non-ASCII.
QString randomMixedText(QRandomGenerator &random, qsizetype size)
{
    static const QString alphabet = QStringLiteral("ab zé中'\n\t.9😀\u0301\u2581<>[]");
    QString text;
    text.reserve(size);
    while (text.size() < size)
        text += alphabet[random.bounded(int(alphabet.size()))];
    return text;
}

} // namespace

class TestTokenizerRobustness : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void arbitraryInput_data();
    void arbitraryInput();
    void hugeInput_data() { arbitraryInput_data(); }
    void hugeInput();
};

void TestTokenizerRobustness::arbitraryInput_data()
{
    QTest::addColumn<QString>("model");
    if (test::sharedModelsDir().isEmpty())
        QSKIP("shared models not found (SURFING_SHARED_MODELS)");
    for (const char *model : {"bert-random", "gpt2-random", "stories260K"})
        QTest::newRow(model) << QString::fromLatin1(model);
}

void TestTokenizerRobustness::arbitraryInput()
{
    QFETCH(QString, model);
    const auto tokenizer = Tokenizer::load(test::sharedModel(model));
    QRandomGenerator random(1234);
    QStringList inputs = {QString(), QStringLiteral(" "), QString(QChar(0)),
                          QString(QChar(0xD800)) + QStringLiteral("x") + QString(QChar(0xDC00)),
                          QString::fromUtf8("\xff\xfe\xc3\x28\xe2\x82")};
    for (int i = 0; i < 300; ++i)
        inputs.append(QString::fromUtf8(randomBytes(random, random.bounded(1, 200))));
    for (int i = 0; i < 300; ++i)
        inputs.append(randomMixedText(random, random.bounded(1, 200)));
    for (const QString &input : inputs) {
        const Encoding encoding = tokenizer->encode(input);
        QCOMPARE(encoding.tokenTypeIds.size(), encoding.ids.size());
        QCOMPARE(encoding.attentionMask.size(), encoding.ids.size());
        QCOMPARE(encoding.tokens.size(), encoding.ids.size());
        for (qint64 id : encoding.ids)
            QVERIFY(id >= 0 && id < tokenizer->vocabSize());
        tokenizer->decode(encoding.ids);
        tokenizer->decode(encoding.ids, false);
        tokenizer->encodePair(input, input);
    }
    // Ids outside the vocabulary decode to nothing rather than crash.
    tokenizer->decode({-1, 1LL << 40, tokenizer->vocabSize()});
}

void TestTokenizerRobustness::hugeInput()
{
    QFETCH(QString, model);
    const auto tokenizer = Tokenizer::load(test::sharedModel(model));
    QRandomGenerator random(99);
    const qsizetype megabyte = 1 << 20;
    const QStringList inputs = {
        QString(megabyte, QLatin1Char('a')),  // one enormous word
        QString(megabyte, QLatin1Char(' ')),
        randomMixedText(random, megabyte),
        QString::fromUtf8(randomBytes(random, megabyte)),
    };
    for (const QString &input : inputs) {
        QElapsedTimer timer;
        timer.start();
        const Encoding encoding = tokenizer->encode(input);
        tokenizer->decode(encoding.ids);
        QVERIFY2(timer.elapsed() < 60000, qPrintable(QStringLiteral("took %1 ms").arg(timer.elapsed())));
    }
}

QTEST_GUILESS_MAIN(TestTokenizerRobustness)
#include "tst_tokenizer_robustness.moc"
