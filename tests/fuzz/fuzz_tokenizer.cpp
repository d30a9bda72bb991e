// libFuzzer target: tokenizer.json files and prompt text come from users. The first byte picks
// the mode: odd -> the rest is a tokenizer.json, which must load or be rejected with
// surfing::Error; even -> the rest is text for a small byte-fallback BPE tokenizer, which must
// encode it to valid ids and decode them back to the same text, except that a literal metaspace
// "▁" comes back as the space it stands for.
#include "base/error.h"
#include "tokenizer/jsontokenizer.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <cstdlib>

namespace {

using namespace surfing;

// LLaMA-style: Prepend/Replace "▁", BPE with byte fallback, BOS template, decoder with Strip.
QJsonObject byteFallbackTokenizerJson()
{
    QJsonObject vocab {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
    for (int byte = 0; byte < 256; ++byte)
        vocab.insert(QString::asprintf("<0x%02X>", byte), 3 + byte);
    const QStringList pieces = {"\u2581", "a", "b", "\u2581a", "ab", "\u2581ab"};
    for (qsizetype i = 0; i < pieces.size(); ++i)
        vocab.insert(pieces[i], 259 + i);
    const QJsonObject bos {{"SpecialToken", QJsonObject {{"id", "<s>"}, {"type_id", 0}}}};
    const QJsonObject sequence {{"Sequence", QJsonObject {{"id", "A"}, {"type_id", 0}}}};
    const QJsonObject space {{"String", " "}};
    const QJsonObject marker {{"String", "\u2581"}};
    return {
        {"added_tokens", QJsonArray {QJsonObject {{"id", 1}, {"content", "<s>"}, {"special", true}}}},
        {"normalizer", QJsonObject {{"type", "Sequence"}, {"normalizers", QJsonArray {
            QJsonObject {{"type", "Prepend"}, {"prepend", "\u2581"}},
            QJsonObject {{"type", "Replace"}, {"pattern", space}, {"content", "\u2581"}}}}}},
        {"model", QJsonObject {{"type", "BPE"}, {"byte_fallback", true}, {"fuse_unk", true},
                               {"unk_token", "<unk>"}, {"vocab", vocab},
                               {"merges", QJsonArray {"\u2581 a", "a b", "\u2581a b"}}}},
        {"post_processor", QJsonObject {{"type", "TemplateProcessing"}, {"single", QJsonArray {bos, sequence}},
                                        {"pair", QJsonArray {bos, sequence}},
                                        {"special_tokens", QJsonObject {{"<s>", QJsonObject {
                                            {"id", "<s>"}, {"ids", QJsonArray {1}}, {"tokens", QJsonArray {"<s>"}}}}}}}},
        {"decoder", QJsonObject {{"type", "Sequence"}, {"decoders", QJsonArray {
            QJsonObject {{"type", "Replace"}, {"pattern", marker}, {"content", " "}},
            QJsonObject {{"type", "ByteFallback"}}, QJsonObject {{"type", "Fuse"}},
            QJsonObject {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
    };
}

void checkIdsInRange(const Tokenizer &tokenizer, const Encoding &encoding)
{
    const qint64 vocabSize = tokenizer.vocabSize(); // walks the added tokens: once, not per id
    for (qint64 id : encoding.ids) {
        if (id < 0 || id >= vocabSize)
            std::abort();
    }
}

void checkRoundTrip(const Tokenizer &tokenizer, const QString &text)
{
    const Encoding encoding = tokenizer.encode(text);
    checkIdsInRange(tokenizer, encoding);
    const QString decoded = tokenizer.decode(encoding.ids);
    // "<s>" in the text is the special token: it splits the text (each part gets its own "▁"
    // prefix) and decode() leaves it out, so only ids in range hold then.
    if (text.contains(QStringLiteral("<s>")))
        return;
    // The normalizer writes every space as "▁" and the decoder turns every "▁" back into a
    // space, so a "▁" in the text is indistinguishable from a space. Every other character
    // is covered by a piece or its bytes and comes back unchanged.
    QString spaced = text;
    spaced.replace(QChar(0x2581), QLatin1Char(' '));
    if (decoded != spaced)
        std::abort();
    if (spaced != text && tokenizer.encode(spaced).ids != encoding.ids)
        std::abort();
}

void tryTokenizerJson(const QByteArray &bytes)
{
    const QJsonObject json = QJsonDocument::fromJson(bytes).object();
    try {
        const JsonTokenizer tokenizer(json, QStringLiteral("fuzz"), TokenizerConfig());
        const Encoding encoding = tokenizer.encode(QString::fromUtf8(bytes));
        tokenizer.decode(encoding.ids, false);
        tokenizer.encodePair(QStringLiteral("Hello, world!"), QStringLiteral("\u00e9\U0001F600"));
    } catch (const Error &) {
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const QByteArray rest(reinterpret_cast<const char *>(data) + 1, qsizetype(size) - 1);
    if (data[0] & 1) {
        tryTokenizerJson(rest);
    } else {
        static const JsonTokenizer tokenizer(byteFallbackTokenizerJson(), QStringLiteral("fuzz"),
                                             TokenizerConfig());
        checkRoundTrip(tokenizer, QString::fromUtf8(rest));
    }
    return 0;
}
