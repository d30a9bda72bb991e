#include "metricssampler.h"

#include "metricshistorymodel.h"

#include <QFile>
#include <unistd.h>

namespace surfing::ui {

namespace {
constexpr int kMaxLatencies = 100000;
constexpr double kMb = 1024.0 * 1024.0;
}

MetricsSampler::MetricsSampler(MetricsHistoryModel *history, QObject *parent)
    : QObject(parent)
    , m_history(history)
{
    m_timer.setInterval(250);
    connect(&m_timer, &QTimer::timeout, this, &MetricsSampler::sample);
    m_clock.start();
}

void MetricsSampler::setInterval(int ms)
{
    m_timer.setInterval(qMax(20, ms));
}

void MetricsSampler::start()
{
    m_timer.start();
}

void MetricsSampler::stop()
{
    m_timer.stop();
}

qint64 MetricsSampler::processRssBytes()
{
    QFile statm(QStringLiteral("/proc/self/statm"));
    if (!statm.open(QIODevice::ReadOnly))
        return 0;
    const QList<QByteArray> fields = statm.readAll().split(' ');
    if (fields.size() < 2)
        return 0;
    return fields.at(1).toLongLong() * qint64(sysconf(_SC_PAGESIZE));
}

void MetricsSampler::addLayerEvents(const QVector<LayerEvent> &events)
{
    for (const LayerEvent &e : events) {
        ++(e.cacheHit ? m_hits : m_misses);
        m_bytes += e.bytes;
        if (e.fetchEndNs > e.fetchStartNs && e.fetchStartNs > 0) { // misses and prefetches
            const double ms = (e.fetchEndNs - e.fetchStartNs) / 1e6;
            m_latencySumMs += ms;
            ++m_fetches;
            if (m_latencies.size() >= kMaxLatencies)
                m_latencies.removeFirst();
            m_latencies.append(ms);
        }
    }
}

void MetricsSampler::setClientCacheBytes(qint64 bytes)
{
    m_clientCacheBytes = bytes;
}

void MetricsSampler::setServerCacheBytes(qint64 bytes)
{
    m_serverCacheBytes = bytes;
}

void MetricsSampler::addTokens(int count)
{
    m_tokens += count;
}

void MetricsSampler::clear()
{
    m_history->clear();
    m_latencies.clear();
    m_hits = m_misses = m_bytes = m_tokens = m_fetches = 0;
    m_latencySumMs = 0;
    m_clock.restart();
    m_lastSampleSeconds = 0;
}

void MetricsSampler::sample()
{
    const double now = m_clock.nsecsElapsed() / 1e9;
    const double dt = qMax(1e-3, now - m_lastSampleSeconds);
    MetricsSample s;
    s.seconds = now;
    if (m_hits + m_misses > 0)
        s.hitRate = double(m_hits) / double(m_hits + m_misses);
    if (m_fetches > 0)
        s.fetchLatencyMs = m_latencySumMs / double(m_fetches);
    s.rssMb = processRssBytes() / kMb;
    s.clientCacheMb = m_clientCacheBytes / kMb;
    s.serverCacheMb = m_serverCacheBytes / kMb;
    s.throughputMbps = m_bytes / kMb / dt;
    s.tokensPerSecond = m_tokens / dt;
    const CpuUsage::Sample cpu = m_cpu.sample();
    if (cpu.processPercent >= 0)
        s.processCpuPercent = cpu.processPercent;
    if (cpu.machinePercent >= 0)
        s.machineCpuPercent = cpu.machinePercent;
    const bool active = m_hits + m_misses + m_bytes + m_tokens > 0;
    m_idleSamples = active ? 0 : m_idleSamples + 1;
    m_hits = m_misses = m_bytes = m_tokens = m_fetches = 0;
    m_latencySumMs = 0;
    m_lastSampleSeconds = now;
    m_history->append(s);
    Q_EMIT sampled();
}

} // namespace surfing::ui
