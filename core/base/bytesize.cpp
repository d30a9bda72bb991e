#include "base/bytesize.h"

#include <cmath>

namespace surfing {

QString formatByteSize(qint64 bytes)
{
    const double b = std::abs(double(bytes));
    const QString sign = bytes < 0 ? QStringLiteral("-") : QString();
    constexpr double kKiB = 1024.0, kMiB = kKiB * 1024, kGiB = kMiB * 1024, kTiB = kGiB * 1024;
    if (b < kKiB)
        return QStringLiteral("%1 B").arg(bytes);
    if (b < kMiB)
        return sign + QStringLiteral("%1 KiB").arg(b / kKiB, 0, 'f', 1);
    if (b < kGiB)
        return sign + QStringLiteral("%1 MiB").arg(b / kMiB, 0, 'f', 1);
    if (b < kTiB)
        return sign + QStringLiteral("%1 GiB").arg(b / kGiB, 0, 'f', 2);
    return sign + QStringLiteral("%1 TiB").arg(b / kTiB, 0, 'f', 2);
}

} // namespace surfing
