// A line chart over the metrics history: one line per model column, x = seconds, a time window
// that follows the newest sample, hover tooltips.
#pragma once

#include <QChartView>
#include <QVector>

class QLineSeries;
class QValueAxis;

namespace surfing::ui {

struct MetricsSample;

class TimeSeriesChart : public QChartView
{
    Q_OBJECT
public:
    TimeSeriesChart(const QString &title, const QString &unit, QWidget *parent = nullptr);

    // `scale` multiplies the stored value (e.g. 100 for a ratio shown in %).
    QLineSeries *addLine(const QString &name, int column, const QColor &color, double scale = 1.0);
    void setFixedRange(double minY, double maxY); // default: 0 .. max seen
    // Rebuilds every line from the samples of the last `spanSeconds` (<= 0: all).
    void refresh(const QVector<MetricsSample> &samples, double spanSeconds);
    QLineSeries *line(int i) const { return m_lines.value(i).series; }

private:
    struct Line {
        QLineSeries *series = nullptr;
        int column = 0;
        double scale = 1.0;
    };
    QVector<Line> m_lines;
    QValueAxis *m_x;
    QValueAxis *m_y;
    QString m_unit;
    bool m_fixedRange = false;
};

} // namespace surfing::ui
