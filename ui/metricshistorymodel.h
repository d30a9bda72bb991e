// The dashboard's time series: one row per sample (taken a few times a second), one column per
// quantity. The charts and the CSV export read from here.
#pragma once

#include <QAbstractTableModel>
#include <QVector>
#include <cmath>

namespace surfing::ui {

struct MetricsSample {
    double seconds = 0;                 // since the recorder started
    double hitRate = std::nan("");      // client cache hits / lookups in the interval (NaN: none)
    double fetchLatencyMs = std::nan(""); // mean fetch time of the interval's fetches (NaN: none)
    double rssMb = 0;                   // this process; the *Mb fields are MiB (2^20 bytes)
    double clientCacheMb = 0;
    double serverCacheMb = 0;
    double throughputMbps = 0;          // chunk bytes fetched per second, MiB/s
    double tokensPerSecond = 0;
    double processCpuPercent = std::nan(""); // this process, % of one core (NaN: first sample)
    double machineCpuPercent = std::nan(""); // the whole machine, % of all cores
};

class MetricsHistoryModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { Seconds, HitRate, FetchLatency, Rss, ClientCache, ServerCache, Throughput, TokensPerSecond, ProcessCpu, MachineCpu, ColumnCount };

    explicit MetricsHistoryModel(QObject *parent = nullptr);

    void append(const MetricsSample &sample);
    void clear();
    void setCapacity(int samples);
    const QVector<MetricsSample> &samples() const { return m_samples; }
    static double value(const MetricsSample &s, int column);
    QByteArray toCsv() const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QVector<MetricsSample> m_samples;
    int m_capacity = 7200; // an hour at 2 samples per second
};

} // namespace surfing::ui
