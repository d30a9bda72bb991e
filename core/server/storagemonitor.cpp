#include "server/storagemonitor.h"

#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcStorageMonitor, "surfing.server.storage")

namespace surfing {

StorageMonitor::StorageMonitor(QObject *parent) : QObject(parent), m_timer(this)
{
    connect(&m_timer, &QTimer::timeout, this, [this] {
        checkTimeouts();
        probeAll();
    });
}

void StorageMonitor::setTiming(int intervalMs, int timeoutMs)
{
    m_intervalMs = qMax(50, intervalMs);
    m_timeoutMs = qMax(50, timeoutMs);
    if (m_timer.isActive())
        m_timer.start(qMin(m_intervalMs, m_timeoutMs));
}

void StorageMonitor::addStorage(const QString &model, std::shared_ptr<ChunkStorage> storage)
{
    Probe p;
    p.storage = std::move(storage);
    m_probes.insert(model, std::move(p));
}

void StorageMonitor::start()
{
    // Ticks at the shorter of the two, so a hung probe is seen as soon as its timeout passes.
    m_timer.start(qMin(m_intervalMs, m_timeoutMs));
    probeAll();
}

bool StorageMonitor::isHealthy() const
{
    return m_healthy;
}

HealthResult StorageMonitor::health(const QString &model) const
{
    const auto it = m_probes.constFind(model);
    return it == m_probes.cend() ? HealthResult{false, QStringLiteral("unknown model")} : it->last;
}

QString StorageMonitor::reason() const
{
    for (const Probe &p : m_probes)
        if (!p.last.ok)
            return p.last.reason;
    return {};
}

void StorageMonitor::noteAnswered(const QString &model)
{
    auto it = m_probes.find(model);
    if (it == m_probes.end())
        return;
    it->lastAnswer.start();
    if (!it->last.ok && !it->outstanding.isValid())
        probe(it.key(), *it); // confirm with a probe rather than trust one read
}

void StorageMonitor::probeSoon()
{
    if (m_probeSoonQueued)
        return;
    m_probeSoonQueued = true;
    QMetaObject::invokeMethod(this, [this] {
        m_probeSoonQueued = false;
        probeAll();
    }, Qt::QueuedConnection);
}

void StorageMonitor::probeAll()
{
    for (auto it = m_probes.begin(); it != m_probes.end(); ++it) {
        // One probe at a time per storage: a hung storage must not pile requests up.
        if (!it->outstanding.isValid())
            probe(it.key(), *it);
    }
}

void StorageMonitor::probe(const QString &model, Probe &p)
{
    p.outstanding.start();
    const quint64 generation = ++p.generation;
    p.storage->checkHealth(HealthCallback(this, [this, model, generation](const HealthResult &result) {
        answered(model, generation, result);
    }));
}

void StorageMonitor::answered(const QString &model, quint64 generation, const HealthResult &result)
{
    auto it = m_probes.find(model);
    if (it == m_probes.end() || it->generation != generation)
        return;
    it->outstanding.invalidate();
    if (result.ok)
        it->lastAnswer.start();
    update(*it, result);
}

void StorageMonitor::checkTimeouts()
{
    for (Probe &p : m_probes) {
        if (!p.outstanding.isValid() || p.outstanding.elapsed() <= m_timeoutMs)
            continue;
        if (p.lastAnswer.isValid() && p.lastAnswer.elapsed() <= m_timeoutMs)
            continue; // reads are being answered: the probe is only queued behind them
        // Given up on: its answer will be ignored, and the next tick sends a fresh probe, so a
        // request that hangs for the storage's whole timeout does not delay the recovery.
        p.outstanding.invalidate();
        ++p.generation;
        update(p, HealthResult{false, QStringLiteral("timed out")});
    }
}

void StorageMonitor::update(Probe &p, const HealthResult &result)
{
    if (p.last.ok && !result.ok)
        qCWarning(lcStorageMonitor).noquote() << "storage" << p.storage->location() << "failed its probe:" << result.reason;
    p.last = result;
    bool healthy = true;
    for (const Probe &q : std::as_const(m_probes))
        healthy = healthy && q.last.ok;
    if (healthy == m_healthy)
        return;
    m_healthy = healthy;
    const QString why = reason();
    if (healthy)
        qCInfo(lcStorageMonitor) << "storage answers again; accepting new sessions";
    else
        qCWarning(lcStorageMonitor).noquote() << "refusing new sessions until the storage answers again";
    Q_EMIT healthChanged(healthy, why);
}

} // namespace surfing
