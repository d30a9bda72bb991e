#include "addedtokensplitter.h"

#include <QSet>
#include <QStringView>
#include <algorithm>

namespace surfing {

namespace {

// The regex \w of the tokenizers library (Rust's Unicode word class) for single_word tokens.
bool isWordCharacter(char32_t c)
{
    switch (QChar::category(c)) {
    case QChar::Letter_Uppercase: case QChar::Letter_Lowercase: case QChar::Letter_Titlecase:
    case QChar::Letter_Modifier: case QChar::Letter_Other:
    case QChar::Mark_NonSpacing: case QChar::Mark_SpacingCombining: case QChar::Mark_Enclosing:
    case QChar::Number_DecimalDigit: case QChar::Number_Letter: case QChar::Punctuation_Connector:
        return true;
    default:
        return c == 0x200C || c == 0x200D;
    }
}

char32_t codePointBefore(const QString &text, qsizetype pos)
{
    if (pos >= 2 && text[pos - 1].isLowSurrogate() && text[pos - 2].isHighSurrogate())
        return QChar::surrogateToUcs4(text[pos - 2], text[pos - 1]);
    return text[pos - 1].unicode();
}

char32_t codePointAt(const QString &text, qsizetype pos)
{
    if (pos + 1 < text.size() && text[pos].isHighSurrogate() && text[pos + 1].isLowSurrogate())
        return QChar::surrogateToUcs4(text[pos], text[pos + 1]);
    return text[pos].unicode();
}

} // namespace

AddedTokenSplitter::AddedTokenSplitter(const QStringList &tokens)
{
    QVector<AddedTokenSpec> specs;
    for (const QString &token : tokens)
        specs.append({token});
    *this = AddedTokenSplitter(specs);
}

AddedTokenSplitter::AddedTokenSplitter(QVector<AddedTokenSpec> tokens)
{
    QSet<QString> seen;
    for (const AddedTokenSpec &token : tokens) {
        if (token.content.isEmpty() || seen.contains(token.content))
            continue;
        seen.insert(token.content);
        m_tokens.append(token);
        if (!m_firstChars.contains(token.content[0]))
            m_firstChars += token.content[0];
    }
    std::stable_sort(m_tokens.begin(), m_tokens.end(), [](const AddedTokenSpec &a, const AddedTokenSpec &b) {
        return a.content.size() > b.content.size();
    });
}

QVector<TextSegment> AddedTokenSplitter::split(const QString &text) const
{
    QVector<TextSegment> segments;
    qsizetype plainStart = 0;
    for (qsizetype pos = 0; pos < text.size();) {
        const AddedTokenSpec *token = m_firstChars.contains(text[pos]) ? longestMatch(text, pos) : nullptr;
        if (!token) {
            ++pos;
            continue;
        }
        qsizetype start = pos;
        qsizetype end = pos + token->content.size();
        if (token->singleWord && ((start > 0 && isWordCharacter(codePointBefore(text, start)))
                                  || (end < text.size() && isWordCharacter(codePointAt(text, end))))) {
            pos = end; // plain text, and no other match starts inside it
            continue;
        }
        while (token->lstrip && start > plainStart && text[start - 1].isSpace())
            --start;
        while (token->rstrip && end < text.size() && text[end].isSpace())
            ++end;
        if (start > plainStart)
            segments.append({text.mid(plainStart, start - plainStart), false, {}});
        segments.append({text.mid(start, end - start), true, token->content});
        pos = plainStart = end;
    }
    if (plainStart < text.size())
        segments.append({text.mid(plainStart), false, {}});
    return segments;
}

const AddedTokenSpec *AddedTokenSplitter::longestMatch(const QString &text, qsizetype pos) const
{
    const QStringView rest = QStringView(text).mid(pos);
    for (const AddedTokenSpec &token : m_tokens) {
        if (rest.startsWith(token.content))
            return &token;
    }
    return nullptr;
}

} // namespace surfing
