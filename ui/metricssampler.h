// Turns the events and figures the core reports (layer events, cache sizes, tokens) into one
// MetricsSample per tick in a MetricsHistoryModel, and keeps the fetch latencies for the
// histogram. Lives on the GUI thread; feeds arrive through queued signals.
#pragma once

#include "metrics/cpuusage.h"
#include "metrics/layerevent.h"

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>
#include <QVector>

namespace surfing::ui {

class MetricsHistoryModel;

class MetricsSampler : public QObject
{
    Q_OBJECT
public:
    explicit MetricsSampler(MetricsHistoryModel *history, QObject *parent = nullptr);

    void setInterval(int ms);
    int interval() const { return m_timer.interval(); }
    void start();
    void stop();

    // Fetch times (ms) of every fetched chunk (miss or prefetch) since the last clear (capped).
    const QVector<double> &fetchLatenciesMs() const { return m_latencies; }

    static qint64 processRssBytes(); // from /proc/self/statm; 0 where unavailable
    // Nothing was fetched, looked up or generated in the last few samples.
    bool isIdle() const { return m_idleSamples >= 8; }

public Q_SLOTS:
    void addLayerEvents(const QVector<surfing::LayerEvent> &events);
    void setClientCacheBytes(qint64 bytes);
    void setServerCacheBytes(qint64 bytes);
    void addTokens(int count);
    void clear();
    void sample(); // takes a sample now (the timer calls this)

Q_SIGNALS:
    void sampled();

private:
    MetricsHistoryModel *m_history;
    QTimer m_timer;
    QElapsedTimer m_clock;
    double m_lastSampleSeconds = 0;
    qint64 m_hits = 0, m_misses = 0, m_bytes = 0, m_tokens = 0, m_fetches = 0;
    double m_latencySumMs = 0;
    qint64 m_clientCacheBytes = 0, m_serverCacheBytes = 0;
    QVector<double> m_latencies;
    CpuUsage m_cpu;
    int m_idleSamples = 0;
};

} // namespace surfing::ui
