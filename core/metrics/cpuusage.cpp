#include "metrics/cpuusage.h"

#include <QFile>
#include <QList>
#include <unistd.h>

namespace surfing {
namespace {

QByteArray readProcFile(const char *path)
{
    QFile file(QString::fromLatin1(path));
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return file.read(64 * 1024); // /proc files report size 0: read what there is
}

} // namespace

qint64 parseProcessCpuTicks(const QByteArray &stat)
{
    const int close = stat.lastIndexOf(')');
    if (close < 0)
        return -1;
    // After ')': state(3) ppid(4) ... utime(14) stime(15): indexes 11 and 12 from field 3.
    const QList<QByteArray> fields = stat.mid(close + 1).simplified().split(' ');
    if (fields.size() < 13)
        return -1;
    bool okUser = false, okSystem = false;
    const qint64 user = fields.at(11).toLongLong(&okUser);
    const qint64 system = fields.at(12).toLongLong(&okSystem);
    if (!okUser || !okSystem || user < 0 || system < 0)
        return -1;
    return user + system;
}

bool parseMachineCpuTicks(const QByteArray &procStat, qint64 *busy, qint64 *total)
{
    for (const QByteArray &line : procStat.split('\n')) {
        if (!line.startsWith("cpu "))
            continue;
        const QList<QByteArray> fields = line.mid(4).simplified().split(' ');
        if (fields.size() < 4)
            return false;
        qint64 sum = 0, idle = 0;
        for (int i = 0; i < fields.size() && i < 8; ++i) { // user nice system idle iowait irq softirq steal
            bool ok = false;
            const qint64 v = fields.at(i).toLongLong(&ok);
            if (!ok || v < 0)
                return false;
            sum += v;
            if (i == 3 || i == 4)
                idle += v;
        }
        *busy = sum - idle;
        *total = sum;
        return true;
    }
    return false;
}

CpuUsage::Sample CpuUsage::sample()
{
    Sample s;
    const qint64 ticks = parseProcessCpuTicks(readProcFile("/proc/self/stat"));
    qint64 busy = -1, total = -1;
    parseMachineCpuTicks(readProcFile("/proc/stat"), &busy, &total);
    const double seconds = m_clock.isValid() ? m_clock.nsecsElapsed() / 1e9 : 0;
    const long hz = ::sysconf(_SC_CLK_TCK);
    if (m_processTicks >= 0 && ticks >= m_processTicks && seconds > 0 && hz > 0)
        s.processPercent = 100.0 * double(ticks - m_processTicks) / (seconds * double(hz));
    if (m_total >= 0 && total > m_total && busy >= m_busy)
        s.machinePercent = 100.0 * double(busy - m_busy) / double(total - m_total);
    m_processTicks = ticks;
    m_busy = busy;
    m_total = total;
    m_clock.start();
    return s;
}

} // namespace surfing
