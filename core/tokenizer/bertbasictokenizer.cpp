#include "bertbasictokenizer.h"

#include "unicodenormalization.h"

#include <QStringView>

namespace surfing {

namespace {

bool isControl(char32_t c)
{
    if (c == U'\t' || c == U'\n' || c == U'\r')
        return false;
    switch (QChar::category(c)) {
    case QChar::Other_Control:
    case QChar::Other_Format:
    case QChar::Other_Surrogate:
    case QChar::Other_PrivateUse:
    case QChar::Other_NotAssigned:
        return true;
    default:
        return false;
    }
}

bool isBertWhitespace(char32_t c)
{
    return c == U' ' || c == U'\t' || c == U'\n' || c == U'\r'
        || QChar::category(c) == QChar::Separator_Space;
}

// The CJK Unified Ideographs blocks BERT isolates (not Hangul, Hiragana or Katakana).
bool isChineseChar(char32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF)
        || (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F)
        || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF)
        || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

void appendCodePoint(QString &text, char32_t c)
{
    if (QChar::requiresSurrogates(c)) {
        text += QChar(QChar::highSurrogate(c));
        text += QChar(QChar::lowSurrogate(c));
    } else {
        text += QChar(char16_t(c));
    }
}

} // namespace

bool BertBasicTokenizer::isPunctuation(char32_t c)
{
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
        return true;
    switch (QChar::category(c)) {
    case QChar::Punctuation_Connector:
    case QChar::Punctuation_Dash:
    case QChar::Punctuation_Open:
    case QChar::Punctuation_Close:
    case QChar::Punctuation_InitialQuote:
    case QChar::Punctuation_FinalQuote:
    case QChar::Punctuation_Other:
        return true;
    default:
        return false;
    }
}

QString BertBasicTokenizer::cleanText(const QString &text)
{
    QString cleaned;
    cleaned.reserve(text.size());
    for (char32_t c : QStringView(text).toUcs4()) {
        if (c == 0 || c == 0xFFFD || isControl(c))
            continue;
        appendCodePoint(cleaned, isBertWhitespace(c) ? U' ' : c);
    }
    return cleaned;
}

QString BertBasicTokenizer::padChineseChars(const QString &text)
{
    QString padded;
    padded.reserve(text.size());
    for (char32_t c : QStringView(text).toUcs4()) {
        const bool isolate = isChineseChar(c);
        if (isolate)
            padded += QLatin1Char(' ');
        appendCodePoint(padded, c);
        if (isolate)
            padded += QLatin1Char(' ');
    }
    return padded;
}

QString BertBasicTokenizer::stripAccents(const QString &text)
{
    const QString decomposed = normalizeUnicode(text, QString::NormalizationForm_D);
    QString stripped;
    stripped.reserve(decomposed.size());
    for (char32_t c : QStringView(decomposed).toUcs4()) {
        if (QChar::category(c) != QChar::Mark_NonSpacing)
            appendCodePoint(stripped, c);
    }
    return stripped;
}

QStringList BertBasicTokenizer::splitOnWhitespaceAndPunctuation(const QString &text)
{
    QStringList pieces;
    QString current;
    auto flush = [&] {
        if (!current.isEmpty())
            pieces.append(current);
        current.clear();
    };
    for (char32_t c : QStringView(text).toUcs4()) {
        if (QChar::isSpace(c)) {
            flush();
        } else if (isPunctuation(c)) {
            flush();
            appendCodePoint(current, c);
            flush();
        } else {
            appendCodePoint(current, c);
        }
    }
    flush();
    return pieces;
}

QString BertBasicTokenizer::normalize(const QString &text) const
{
    QString normalized = m_options.cleanText ? cleanText(text) : text;
    if (m_options.tokenizeChineseChars)
        normalized = padChineseChars(normalized);
    return lowerAndStrip(normalized);
}

QStringList BertBasicTokenizer::split(const QString &text) const
{
    QString normalized = m_options.cleanText ? cleanText(text) : text;
    if (m_options.tokenizeChineseChars)
        normalized = padChineseChars(normalized);
    // Lower-casing and accent stripping never create or remove whitespace, so they can run on
    // the whole text before the split rather than word by word as BasicTokenizer does.
    normalized = normalizeUnicode(normalized, QString::NormalizationForm_C);
    return splitOnWhitespaceAndPunctuation(lowerAndStrip(normalized));
}

QString BertBasicTokenizer::lowerAndStrip(const QString &word) const
{
    const QString lowered = m_options.lowerCase ? word.toLower() : word;
    return stripsAccents() ? stripAccents(lowered) : lowered;
}

} // namespace surfing
