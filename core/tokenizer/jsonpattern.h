// A tokenizer.json pattern, {"String": "..."} or {"Regex": "..."}, and the pieces it cuts text into.
#pragma once

#include <QJsonValue>
#include <QRegularExpression>
#include <QString>
#include <QVector>

namespace surfing {

struct PatternPart {
    QString text;
    bool isMatch;
};

class JsonPattern
{
public:
    // Throws surfing::Error naming FILE and COMPONENT when the pattern is missing or invalid.
    static JsonPattern parse(const QJsonValue &spec, const QString &file, const QString &component);
    // PATTERN in the tokenizers library's (Oniguruma's) syntax and meaning.
    static JsonPattern regex(const QString &pattern);
    // The PCRE2 pattern that means what PATTERN means to Oniguruma.
    static QString fromOniguruma(const QString &pattern);

    QString replaceAll(const QString &text, const QString &replacement) const;
    // TEXT cut into matches and the text between them, in order; empty parts are left out.
    QVector<PatternPart> parts(const QString &text) const;

private:
    QString m_literal;
    QRegularExpression m_regex;
    bool m_isRegex = false;
};

} // namespace surfing
