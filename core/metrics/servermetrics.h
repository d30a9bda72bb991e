// The weight server's counters: requests, bytes, errors by code, connections and the get
// latency histogram. Rendered as Prometheus text for /metrics and as JSON for the `stats`
// request and the GUI. Thread-safe.
#pragma once

#include "cache/servercache.h"
#include "metrics/latencyhistogram.h"
#include "protocol/errorcode.h"

#include <QByteArray>
#include <QJsonObject>
#include <QMap>
#include <QMutex>
#include <QString>

namespace surfing {

struct ServerStats {
    QMap<QString, qint64> requestsByType; // "get", "manifest", ...
    QMap<QString, qint64> errorsByCode;   // "not_found", ...
    qint64 chunksServed = 0;
    qint64 bytesSent = 0;                 // chunk payload bytes handed to sockets
    qint64 connectionsOpen = 0;
    qint64 connectionsTotal = 0;
    qint64 connectionsRejected = 0;       // over --max-connections
    qint64 authFailures = 0;              // hellos with a missing or wrong token
    double latencyP50Seconds = 0;         // bucket estimates
    double latencyP99Seconds = 0;
    ServerCacheStats cache;

    qint64 requestsTotal() const;
    QJsonObject toJson() const;
};

class ServerMetrics
{
public:
    void recordRequest(const QString &type);
    void recordError(protocol::ErrorCode code);
    void recordBytesSent(qint64 bytes);
    void recordChunkServed(double latencySeconds);
    void recordConnectionOpened();
    void recordConnectionClosed();
    void recordConnectionRejected();
    void recordAuthFailure();

    ServerStats stats(const ServerCacheStats &cache) const;
    QByteArray prometheusText(const ServerCacheStats &cache) const;

private:
    mutable QMutex m_mutex;
    ServerStats m_stats;
    LatencyHistogram m_latency;
};

} // namespace surfing
