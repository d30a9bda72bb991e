// Keeps a current answer to "can this server read its storages?": probes every storage on a
// timer (ChunkStorage::checkHealth), counts a probe that has not answered within the timeout as
// "timed out", and probes at once when a read failed. /healthz and the hello check read the
// latest state, so neither waits for storage, and a storage that hangs is reported as such
// within interval + timeout instead of the storage's own (long) request timeout.
#pragma once

#include "storage/chunkstorage.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QTimer>
#include <memory>

namespace surfing {

class StorageMonitor : public QObject
{
    Q_OBJECT
public:
    explicit StorageMonitor(QObject *parent = nullptr);

    // Probes every `intervalMs`; a probe unanswered after `timeoutMs` counts as failed.
    void setTiming(int intervalMs, int timeoutMs);
    void addStorage(const QString &model, std::shared_ptr<ChunkStorage> storage);
    void start(); // the first probe goes out at once

    // Until a storage's first probe has answered it counts as healthy (addModel() has just read
    // its manifest).
    bool isHealthy() const;
    HealthResult health(const QString &model) const;
    // The first failing storage's reason ("unreachable", "timed out"), empty when healthy.
    QString reason() const;
    int intervalMs() const { return m_intervalMs; }

    // A read of `model`'s storage succeeded: as good as a probe answering. Under load a probe
    // may queue behind reads (the storage's connection limit); reads that complete show the
    // storage answers, so the probe's delay alone does not count as a failure.
    void noteAnswered(const QString &model);

public Q_SLOTS:
    // A read failed: probe again now rather than at the next tick (a probe under way is kept).
    void probeSoon();

Q_SIGNALS:
    void healthChanged(bool healthy, const QString &reason);

private:
    struct Probe {
        std::shared_ptr<ChunkStorage> storage;
        HealthResult last{true, {}};
        QElapsedTimer outstanding; // valid while a probe is under way
        QElapsedTimer lastAnswer;  // the latest probe or read that succeeded
        quint64 generation = 0;
    };

    void probeAll();
    void probe(const QString &model, Probe &p);
    void answered(const QString &model, quint64 generation, const HealthResult &result);
    void checkTimeouts();
    void update(Probe &p, const HealthResult &result);

    QHash<QString, Probe> m_probes;
    QTimer m_timer;
    int m_intervalMs = 500;
    int m_timeoutMs = 3000;
    bool m_healthy = true;
    bool m_probeSoonQueued = false;
};

} // namespace surfing
