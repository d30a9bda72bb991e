#include "progressbar.h"

#include "base/bytesize.h"

#include <cstdio>
#include <unistd.h>

namespace surfing::cli {

QString formatBytes(qint64 bytes)
{
    return formatByteSize(bytes);
}

ProgressBar::ProgressBar(QString label) : m_label(std::move(label)), m_enabled(::isatty(STDERR_FILENO))
{
    m_clock.start();
}

ProgressBar::~ProgressBar()
{
    if (m_drawn)
        std::fputc('\n', stderr);
}

void ProgressBar::update(qint64 done, qint64 total, const QString &detail)
{
    const qint64 now = m_clock.elapsed();
    if (!m_enabled || (now - m_lastDrawMs < 100 && done < total))
        return;
    m_lastDrawMs = now;
    const double fraction = total > 0 ? qBound(0.0, double(done) / double(total), 1.0) : 0.0;
    constexpr int kWidth = 30;
    const int filled = int(fraction * kWidth);
    const double seconds = qMax(0.001, now / 1000.0);
    const double rate = done / seconds;
    const QString eta = rate > 0 && done < total ? QStringLiteral(", %1 s left").arg((total - done) / rate, 0, 'f', 0) : QString();
    const QString line = QStringLiteral("\r%1 [%2%3] %4% %5/s%6 %7")
                             .arg(m_label, QString(filled, QLatin1Char('#')), QString(kWidth - filled, QLatin1Char('.')))
                             .arg(int(fraction * 100), 3)
                             .arg(formatBytes(qint64(rate)), eta, detail.left(24).leftJustified(24));
    std::fputs(line.toUtf8().constData(), stderr);
    std::fflush(stderr);
    m_drawn = true;
}

} // namespace surfing::cli
