// A line chart over the metrics history: one line per model column, x = seconds, a time window
// that follows the newest sample, hover tooltips. A line breaks where its quantity has no value
// (an idle gap) instead of joining across it, and quantities of another unit get their own,
// labelled axis on the right.
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

    // `scale` multiplies the stored value (e.g. 100 for a ratio shown in %). `rightUnit`
    // non-empty: the line uses the right axis, titled with that unit.
    QLineSeries *addLine(const QString &name, int column, const QColor &color, double scale = 1.0,
                         const QString &rightUnit = {});
    void setFixedRange(double minY, double maxY); // default: 0 .. max seen
    // Rebuilds every line from the samples of the last `spanSeconds` (<= 0: all).
    void refresh(const QVector<MetricsSample> &samples, double spanSeconds);
    QLineSeries *line(int i) const { return m_lines.value(i).segments.value(0); }
    // The pieces line `i` is drawn in now (more than one when it has gaps).
    int segmentCount(int i) const;
    QValueAxis *leftAxis() const { return m_y; }
    QValueAxis *rightAxis() const { return m_y2; }

private:
    struct Line {
        QVector<QLineSeries *> segments; // the first one carries the legend entry
        QString name;
        QColor color;
        int column = 0;
        double scale = 1.0;
        QValueAxis *axis = nullptr;
        int used = 0;
    };
    QLineSeries *newSegment(Line &line);

    QVector<Line> m_lines;
    QValueAxis *m_x;
    QValueAxis *m_y;
    QValueAxis *m_y2 = nullptr;
    QString m_unit;
    bool m_fixedRange = false;
};

} // namespace surfing::ui
