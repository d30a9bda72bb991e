#include "format/unitnames.h"

#include <QRegularExpression>

namespace surfing::unitnames {

QString layer(int layer)
{
    return QStringLiteral("layer_%1").arg(layer);
}

QString expertKind(int layer)
{
    return QStringLiteral("layer_%1_expert").arg(layer);
}

QString expertPrefix(int layer)
{
    return expertKind(layer) + QLatin1Char('_');
}

QString expert(int layer, int expert)
{
    return expertPrefix(layer) + QString::number(expert);
}

bool isExpert(const QString &unit)
{
    static const QRegularExpression pattern(QStringLiteral("^layer_\\d+_expert_\\d+$"));
    return pattern.match(unit).hasMatch();
}

} // namespace surfing::unitnames
