// CPU use of this process and of the whole machine between two samples, from /proc/self/stat and
// /proc/stat (Linux). The Dashboard shows both beside memory.
#pragma once

#include <QByteArray>
#include <QElapsedTimer>

namespace surfing {

// utime + stime of a /proc/PID/stat line, in clock ticks; -1 when malformed. The command name
// in parentheses may hold spaces and parentheses: fields are counted after the last ')'.
qint64 parseProcessCpuTicks(const QByteArray &stat);

// The "cpu" line of /proc/stat: all ticks and the busy ones (all but idle and iowait). False
// when there is no well-formed "cpu" line.
bool parseMachineCpuTicks(const QByteArray &procStat, qint64 *busy, qint64 *total);

class CpuUsage
{
public:
    struct Sample {
        double processPercent = -1; // of one core (200 = two cores busy); -1: not known yet
        double machinePercent = -1; // of all cores
    };

    // Use since the previous call (the first call only starts counting).
    Sample sample();

private:
    QElapsedTimer m_clock;
    qint64 m_processTicks = -1;
    qint64 m_busy = -1, m_total = -1;
};

} // namespace surfing
