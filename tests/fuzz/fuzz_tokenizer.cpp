// libFuzzer target: tokenizer.json files and prompt text come from users. The first byte picks
// the mode: odd -> the rest is a tokenizer.json, which must load or be rejected with
// surfing::Error; 0 mod 4 -> the rest is text for a small byte-fallback BPE tokenizer, which must
// encode it to valid ids and decode them back to the same text, except that a literal metaspace
// "▁" comes back as the space it stands for; 2 mod 4 -> the text goes through small byte-level
// BPE tokenizers with Llama 3's and Qwen's Split regexes (added tokens, ignore_merges, BOS
// template, NFC), which must give it back byte for byte (Qwen: its NFC form).
#include "base/error.h"
#include "tokenizer/bytelevelalphabet.h"
#include "tokenizer/jsontokenizer.h"
#include "tokenizer/unicodenormalization.h"

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

// Llama 3 / Qwen style: Split with the family's regex, ByteLevel without its own regex, BPE over
// the 256 byte characters with a few merges, added tokens, and (Llama 3) a BOS template.
QJsonObject regexByteLevelTokenizerJson(bool llama3)
{
    QJsonObject vocab;
    for (int byte = 0; byte < 256; ++byte)
        vocab.insert(ByteLevelAlphabet::encode(QByteArray(1, char(byte))), byte);
    const QStringList words = {"\u0120t", "he", "\u0120the", "12", "123", "'s", "\u010a\u010a"};
    for (qsizetype i = 0; i < words.size(); ++i)
        vocab.insert(words[i], 256 + i);
    const QJsonArray merges {"\u0120 t", "h e", "\u0120t he", "1 2", "12 3", "' s", "\u010a \u010a"};
    const QString digits = llama3 ? QStringLiteral("\\p{N}{1,3}") : QStringLiteral("\\p{N}");
    const QString pattern = QStringLiteral("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|%1"
                                           "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+").arg(digits);
    const QJsonObject split {{"type", "Split"}, {"pattern", QJsonObject {{"Regex", pattern}}},
                             {"behavior", "Isolated"}, {"invert", false}};
    const QJsonObject byteLevel {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}};
    const QJsonObject bos {{"SpecialToken", QJsonObject {{"id", "<|begin_of_text|>"}, {"type_id", 0}}}};
    const QJsonObject sequence {{"Sequence", QJsonObject {{"id", "A"}, {"type_id", 0}}}};
    QJsonObject json {
        {"added_tokens", QJsonArray {
            QJsonObject {{"id", 300}, {"content", "<|begin_of_text|>"}, {"special", true}},
            QJsonObject {{"id", 301}, {"content", "<|im_start|>"}, {"special", true}},
            QJsonObject {{"id", 302}, {"content", "<think>"}, {"special", false}}}},
        {"pre_tokenizer", QJsonObject {{"type", "Sequence"}, {"pretokenizers", QJsonArray {split, byteLevel}}}},
        {"model", QJsonObject {{"type", "BPE"}, {"ignore_merges", llama3}, {"vocab", vocab}, {"merges", merges}}},
        {"decoder", QJsonObject {{"type", "ByteLevel"}}},
    };
    if (llama3) {
        json.insert("post_processor", QJsonObject {
            {"type", "TemplateProcessing"}, {"single", QJsonArray {bos, sequence}}, {"pair", QJsonArray {bos, sequence}},
            {"special_tokens", QJsonObject {{"<|begin_of_text|>", QJsonObject {
                {"id", "<|begin_of_text|>"}, {"ids", QJsonArray {300}}, {"tokens", QJsonArray {"<|begin_of_text|>"}}}}}}});
    } else {
        json.insert("normalizer", QJsonObject {{"type", "NFC"}});
    }
    return json;
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

void checkRegexByteLevelRoundTrip(const QString &text)
{
    static const JsonTokenizer llama3(regexByteLevelTokenizerJson(true), QStringLiteral("fuzz"), TokenizerConfig());
    static const JsonTokenizer qwen(regexByteLevelTokenizerJson(false), QStringLiteral("fuzz"), TokenizerConfig());
    const Encoding llamaEncoding = llama3.encode(text);
    checkIdsInRange(llama3, llamaEncoding);
    if (llamaEncoding.ids.value(0) != 300 || llama3.decode(llamaEncoding.ids, false) != QStringLiteral("<|begin_of_text|>") + text)
        std::abort();
    const Encoding qwenEncoding = qwen.encode(text);
    checkIdsInRange(qwen, qwenEncoding);
    // NFC applies to the text between added tokens: compare whole only where there are none.
    const QString decoded = qwen.decode(qwenEncoding.ids, false);
    if (!text.contains(QLatin1Char('<')) && decoded != normalizeUnicode(text, QString::NormalizationForm_C))
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
    } else if (data[0] & 2) {
        checkRegexByteLevelRoundTrip(QString::fromUtf8(rest));
    } else {
        static const JsonTokenizer tokenizer(byteFallbackTokenizerJson(), QStringLiteral("fuzz"),
                                             TokenizerConfig());
        checkRoundTrip(tokenizer, QString::fromUtf8(rest));
    }
    return 0;
}
