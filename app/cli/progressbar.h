// A one-line progress bar on stderr, drawn only when stderr is a terminal.
#pragma once

#include <QElapsedTimer>
#include <QString>

namespace surfing::cli {

class ProgressBar
{
public:
    explicit ProgressBar(QString label);
    ~ProgressBar(); // ends the line if one was drawn

    bool enabled() const { return m_enabled; }
    // Redraws at most 10 times a second (and always at 100%).
    void update(qint64 done, qint64 total, const QString &detail = {});

private:
    QString m_label;
    bool m_enabled;
    bool m_drawn = false;
    QElapsedTimer m_clock;
    qint64 m_lastDrawMs = -1000;
};

QString formatBytes(qint64 bytes);

} // namespace surfing::cli
