// The error a chat template raises: what went wrong and where (line and column in the template).
#pragma once

#include "base/error.h"

namespace surfing::jinja {

class TemplateError : public Error
{
public:
    // `pos` is an offset into `source`, or -1 when no position is known.
    TemplateError(const QString &message, const QString &source, int pos)
        : Error(withPosition(message, source, pos)) {}

private:
    static QString withPosition(const QString &message, const QString &source, int pos)
    {
        if (pos < 0)
            return QStringLiteral("chat template: %1").arg(message);
        pos = qMin(pos, int(source.size()));
        const int line = int(source.left(pos).count(QLatin1Char('\n'))) + 1;
        const int lineStart = pos > 0 ? int(source.lastIndexOf(QLatin1Char('\n'), pos - 1)) : -1;
        const int column = pos - lineStart;
        return QStringLiteral("chat template line %1, column %2: %3").arg(line).arg(column).arg(message);
    }
};

} // namespace surfing::jinja
