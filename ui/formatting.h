// Human-readable numbers for labels and tables.
#pragma once

#include <QString>

namespace surfing::ui {

QString formatBytes(qint64 bytes);            // "1.4 MiB": core's formatByteSize(), as the CLI writes it
QString formatRate(double bytesPerSecond);     // "12.3 MiB/s"
QString formatDuration(double seconds);        // "3 s", "2 min 05 s"
QString formatMilliseconds(double ms);         // "0.42 ms", "12 ms"

} // namespace surfing::ui
