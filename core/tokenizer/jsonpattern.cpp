#include "jsonpattern.h"

#include "base/error.h"

#include <QJsonObject>

namespace surfing {

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
    result.m_regex = QRegularExpression(pattern, QRegularExpression::UseUnicodePropertiesOption);
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
