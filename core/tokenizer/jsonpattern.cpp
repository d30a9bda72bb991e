#include "jsonpattern.h"

#include "base/error.h"

#include <QJsonObject>

namespace surfing {

namespace {

// Oniguruma's classes (what the tokenizers library compiles "Regex" patterns with) as PCRE2
// classes. Checked code point by code point against Oniguruma 6.9.8: PCRE2's own \s also takes
// U+180E, its \w takes every number and no marks, and its \h is horizontal space, not hex.
const QLatin1String kSpaceClass("\\t-\\r\\x{85}\\p{Z}");
// Oniguruma's \w takes Latin-1's superscripts and fractions too, but not inside a [...] class.
const QLatin1String kWordClassInside("\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}");
const QLatin1String kWordClass("\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\xB2\\xB3\\xB9\\xBC-\\xBE");
const QLatin1String kHexClass("0-9a-fA-F");

QString onigurumaClass(QChar escape, bool inClass)
{
    switch (escape.toLower().unicode()) {
    case 's': return kSpaceClass;
    case 'w': return inClass ? kWordClassInside : kWordClass;
    case 'h': return kHexClass;
    }
    return {};
}

} // namespace

// Rewrites \s \S \w \W \h \H; inside a [...] class only the positive ones (a negated class
// cannot be nested there, so [\S...] keeps PCRE2's meaning).
QString JsonPattern::fromOniguruma(const QString &pattern)
{
    QString result;
    result.reserve(pattern.size() + 32);
    bool inClass = false;
    for (qsizetype i = 0; i < pattern.size(); ++i) {
        const QChar c = pattern[i];
        if (c == QLatin1Char('\\') && i + 1 < pattern.size()) {
            const QChar next = pattern[++i];
            const QString body = onigurumaClass(next, inClass);
            if (body.isEmpty() || (inClass && next.isUpper()))
                result.append(c).append(next);
            else if (inClass)
                result += body;
            else
                result += (next.isUpper() ? QStringLiteral("[^") : QStringLiteral("[")) + body + QLatin1Char(']');
            continue;
        }
        if (c == QLatin1Char('[') && inClass && pattern.mid(i + 1, 1) == QLatin1String(":")) {
            const qsizetype end = pattern.indexOf(QLatin1String(":]"), i + 2);
            if (end > 0) { // a POSIX class [:alpha:] inside a class
                result += pattern.mid(i, end + 2 - i);
                i = end + 1;
                continue;
            }
        }
        result += c;
        if (c == QLatin1Char('[') && !inClass) {
            inClass = true;
            // "[]...]" and "[^]...]": a leading ']' is a literal.
            if (i + 1 < pattern.size() && pattern[i + 1] == QLatin1Char('^'))
                result += pattern[++i];
            if (i + 1 < pattern.size() && pattern[i + 1] == QLatin1Char(']'))
                result += pattern[++i];
        } else if (c == QLatin1Char(']') && inClass) {
            inClass = false;
        }
    }
    return result;
}

JsonPattern JsonPattern::parse(const QJsonValue &spec, const QString &file, const QString &component)
{
    const QJsonObject object = spec.toObject();
    if (object.value(QStringLiteral("String")).isString()) {
        JsonPattern pattern;
        pattern.m_literal = object.value(QStringLiteral("String")).toString();
        return pattern;
    }
    if (object.value(QStringLiteral("Regex")).isString()) {
        JsonPattern pattern = regex(object.value(QStringLiteral("Regex")).toString());
        if (!pattern.m_regex.isValid())
            throw Error(QStringLiteral("%1: %2 has an invalid regex: %3")
                            .arg(file, component, pattern.m_regex.errorString()));
        return pattern;
    }
    throw Error(QStringLiteral("%1: %2 needs a pattern {\"String\": ...} or {\"Regex\": ...}")
                    .arg(file, component));
}

JsonPattern JsonPattern::regex(const QString &pattern)
{
    JsonPattern result;
    result.m_isRegex = true;
    // Oniguruma's ^ and $ match at every line break.
    result.m_regex = QRegularExpression(fromOniguruma(pattern), QRegularExpression::UseUnicodePropertiesOption
                                                                    | QRegularExpression::MultilineOption);
    return result;
}

QString JsonPattern::replaceAll(const QString &text, const QString &replacement) const
{
    if (!m_isRegex)
        return m_literal.isEmpty() ? text : QString(text).replace(m_literal, replacement);
    QString result;
    for (const PatternPart &part : parts(text))
        result += part.isMatch ? replacement : part.text;
    return result;
}

QVector<PatternPart> JsonPattern::parts(const QString &text) const
{
    QVector<PatternPart> result;
    qsizetype plainStart = 0;
    auto addMatch = [&](qsizetype start, qsizetype length) {
        if (start > plainStart)
            result.append({text.mid(plainStart, start - plainStart), false});
        result.append({text.mid(start, length), true});
        plainStart = start + length;
    };
    if (m_isRegex) {
        for (auto it = m_regex.globalMatch(text); it.hasNext();) {
            const QRegularExpressionMatch match = it.next();
            if (match.capturedLength() > 0)
                addMatch(match.capturedStart(), match.capturedLength());
        }
    } else if (!m_literal.isEmpty()) {
        for (qsizetype at = text.indexOf(m_literal); at >= 0; at = text.indexOf(m_literal, plainStart))
            addMatch(at, m_literal.size());
    }
    if (plainStart < text.size())
        result.append({text.mid(plainStart), false});
    return result;
}

} // namespace surfing
