// BERT's text clean-up and word split (Hugging Face BasicTokenizer / BertNormalizer +
// BertPreTokenizer): control characters dropped, CJK ideographs and punctuation isolated,
// optional lower-casing and accent stripping.
#pragma once

#include <QString>
#include <QStringList>
#include <optional>

namespace surfing {

struct BertBasicOptions {
    bool lowerCase = true;
    std::optional<bool> stripAccents;  // unset: strip when lower-casing
    bool tokenizeChineseChars = true;
    bool cleanText = true;
};

class BertBasicTokenizer
{
public:
    explicit BertBasicTokenizer(BertBasicOptions options) : m_options(options) {}

    // The words BertTokenizer's BasicTokenizer gives for TEXT.
    QStringList split(const QString &text) const;
    // Everything but the split (BertNormalizer of tokenizer.json).
    QString normalize(const QString &text) const;

    static QString cleanText(const QString &text);
    static QString padChineseChars(const QString &text);
    static QString stripAccents(const QString &text);
    // Whitespace removed, each punctuation character its own piece (BertPreTokenizer).
    static QStringList splitOnWhitespaceAndPunctuation(const QString &text);
    static bool isPunctuation(char32_t c);

private:
    bool stripsAccents() const { return m_options.stripAccents.value_or(m_options.lowerCase); }
    QString lowerAndStrip(const QString &word) const;

    BertBasicOptions m_options;
};

} // namespace surfing
