// Fetch latency distribution as a bar chart with log-spaced buckets.
#pragma once

#include <QChartView>
#include <QVector>

class QBarSet;
class QBarCategoryAxis;
class QValueAxis;

namespace surfing::ui {

class LatencyHistogramChart : public QChartView
{
    Q_OBJECT
public:
    explicit LatencyHistogramChart(QWidget *parent = nullptr);

    void refresh(const QVector<double> &latenciesMs);
    // Bucket upper bounds in ms and the counts last shown (the last bucket is open-ended).
    static QVector<double> bucketBoundsMs();
    QVector<qint64> counts() const { return m_counts; }

private:
    QBarSet *m_set;
    QBarCategoryAxis *m_x;
    QValueAxis *m_y;
    QVector<qint64> m_counts;
};

} // namespace surfing::ui
