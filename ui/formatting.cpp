#include "formatting.h"

#include "base/bytesize.h"

#include <cmath>

namespace surfing::ui {

QString formatBytes(qint64 bytes)
{
    // A no-break space: a label that wraps never leaves the unit alone on the next line.
    return formatByteSize(bytes).replace(QLatin1Char(' '), QChar(0x00A0));
}

QString formatRate(double bytesPerSecond)
{
    return formatBytes(qint64(bytesPerSecond)) + QStringLiteral("/s");
}

QString formatDuration(double seconds)
{
    if (!std::isfinite(seconds) || seconds < 0)
        return QStringLiteral("–");
    if (seconds < 1)
        return QStringLiteral("< 1 s");
    const qint64 s = qint64(std::llround(seconds));
    if (s < 60)
        return QStringLiteral("%1 s").arg(s);
    if (s < 3600)
        return QStringLiteral("%1 min %2 s").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60, 2, 10, QLatin1Char('0'));
}

QString formatMilliseconds(double ms)
{
    if (ms < 10)
        return QStringLiteral("%1\u00a0ms").arg(ms, 0, 'f', 2);
    return QStringLiteral("%1\u00a0ms").arg(ms, 0, 'f', 0);
}

} // namespace surfing::ui
