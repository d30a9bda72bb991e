// The Dashboard: live charts of cache hit rate, fetch latency (over time and as a histogram),
// memory and throughput, and the per-layer fetch timeline. Redraws on a timer (4 Hz) from the
// models, so bursts of events never queue up paints; pause, clear, CSV and PNG export.
#pragma once

#include <QTimer>
#include <QWidget>

class QAction;
class QComboBox;
class QLabel;
class QSpinBox;
class QTableView;

namespace surfing::ui {

struct MetricsSample;
class LatencyHistogramChart;
class MetricsHistoryModel;
class MetricsSampler;
class TimelineModel;
class TimelineWidget;
class TimeSeriesChart;

class DashboardPage : public QWidget
{
    Q_OBJECT
public:
    DashboardPage(MetricsHistoryModel *history, MetricsSampler *sampler, TimelineModel *timeline,
                  QWidget *parent = nullptr);

    bool isPaused() const { return m_paused; }
    TimeSeriesChart *hitRateChart() const { return m_hitRate; }
    TimeSeriesChart *latencyChart() const { return m_latency; }
    TimeSeriesChart *memoryChart() const { return m_memory; }
    TimeSeriesChart *cacheChart() const { return m_caches; }
    TimeSeriesChart *throughputChart() const { return m_throughput; }
    LatencyHistogramChart *histogram() const { return m_histogram; }
    TimelineWidget *timelineWidget() const { return m_timelineView; }
    // "fetched 12.3 MiB per token at 456.0 MiB/s": what the transfer bound (tokens/s <= link rate /
    // bytes per token) is made of, over the window shown.
    QString boundText() const;
    static QString boundText(const QVector<MetricsSample> &samples, double spanSeconds);

    // Writes FILE (the time series) and FILE's sibling "<base>-timeline.csv"; throws surfing::Error.
    void exportCsv(const QString &file) const;
    void exportPng(const QString &file);
    QComboBox *windowBox() const { return m_span; }
    QSpinBox *stepsBox() const { return m_steps; }

    void loadSettings();
    void saveSettings() const;

public Q_SLOTS:
    void setPaused(bool paused);
    void clear();
    void refresh();

Q_SIGNALS:
    void errorOccurred(const QString &message, const QString &action);
    void statusMessage(const QString &message);

protected:
    void showEvent(QShowEvent *event) override;

private:
    QWidget *buildToolbar();
    QWidget *buildCharts();
    void chooseCsv();
    void choosePng();
    double spanSeconds() const;

    MetricsHistoryModel *m_history;
    MetricsSampler *m_sampler;
    TimelineModel *m_timeline;
    TimeSeriesChart *m_hitRate;
    TimeSeriesChart *m_latency;
    TimeSeriesChart *m_memory;
    TimeSeriesChart *m_caches;
    TimeSeriesChart *m_throughput;
    LatencyHistogramChart *m_histogram;
    TimelineWidget *m_timelineView;
    QTableView *m_eventTable;
    QComboBox *m_span;
    QSpinBox *m_steps;
    QAction *m_pause;
    QLabel *m_summary;
    QLabel *m_bound;
    QTimer m_redraw;
    bool m_paused = false;
};

} // namespace surfing::ui
