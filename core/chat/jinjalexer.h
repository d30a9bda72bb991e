// Cuts a chat template into text and the tokens inside {{ }} and {% %}, as Jinja does with the
// settings transformers uses (trim_blocks and lstrip_blocks on, "-" and "+" whitespace control,
// {# #} comments dropped). The source is expected with "\n" line ends (ChatTemplate normalises).
#pragma once

#include <QString>
#include <QVector>

namespace surfing::jinja {

struct Token {
    enum class Kind { Text, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Integer, Float, Operator, End };
    Kind kind = Kind::End;
    QString text;      // text, name, string value or operator
    qint64 integer = 0;
    double real = 0;
    int pos = 0;       // offset in the source
};

// Throws TemplateError (unclosed tags, strings or comments, unknown characters).
QVector<Token> tokenize(const QString &source);

} // namespace surfing::jinja
