#include "metrics/servermetrics.h"

namespace surfing {

namespace {

void counter(QByteArray &out, const char *name, const char *help, qint64 value, const char *type = "counter")
{
    out += QByteArray("# HELP ") + name + ' ' + help + '\n';
    out += QByteArray("# TYPE ") + name + ' ' + type + '\n';
    out += QByteArray(name) + ' ' + QByteArray::number(value) + '\n';
}

void labelled(QByteArray &out, const char *name, const char *help, const char *label,
              const QMap<QString, qint64> &values)
{
    out += QByteArray("# HELP ") + name + ' ' + help + '\n';
    out += QByteArray("# TYPE ") + name + " counter\n";
    for (auto it = values.begin(); it != values.end(); ++it)
        out += QByteArray(name) + '{' + label + "=\"" + it.key().toUtf8() + "\"} " + QByteArray::number(it.value()) + '\n';
}

} // namespace

qint64 ServerStats::requestsTotal() const
{
    qint64 total = 0;
    for (qint64 n : requestsByType)
        total += n;
    return total;
}

QJsonObject ServerStats::toJson() const
{
    QJsonObject requests, errors;
    for (auto it = requestsByType.begin(); it != requestsByType.end(); ++it)
        requests.insert(it.key(), double(it.value()));
    for (auto it = errorsByCode.begin(); it != errorsByCode.end(); ++it)
        errors.insert(it.key(), double(it.value()));
    return QJsonObject{
        {"requests", requests},
        {"errors", errors},
        {"chunks_served", double(chunksServed)},
        {"bytes_sent", double(bytesSent)},
        {"connections_open", double(connectionsOpen)},
        {"connections_total", double(connectionsTotal)},
        {"connections_rejected", double(connectionsRejected)},
        {"auth_failures", double(authFailures)},
        {"latency_p50_seconds", latencyP50Seconds},
        {"latency_p99_seconds", latencyP99Seconds},
        {"cache", QJsonObject{{"hits", double(cache.hits)},
                              {"misses", double(cache.misses)},
                              {"joined", double(cache.joined)},
                              {"evictions", double(cache.evictions)},
                              {"bytes_loaded", double(cache.bytesLoaded)},
                              {"bytes_cached", double(cache.bytesCached)},
                              {"entries", double(cache.entries)},
                              {"budget_bytes", double(cache.budgetBytes)}}},
    };
}

void ServerMetrics::recordRequest(const QString &type)
{
    QMutexLocker lock(&m_mutex);
    ++m_stats.requestsByType[type];
}

void ServerMetrics::recordError(protocol::ErrorCode code)
{
    QMutexLocker lock(&m_mutex);
    ++m_stats.errorsByCode[protocol::errorCodeName(code)];
}

void ServerMetrics::recordBytesSent(qint64 bytes)
{
    QMutexLocker lock(&m_mutex);
    m_stats.bytesSent += bytes;
}

void ServerMetrics::recordChunkServed(double latencySeconds)
{
    QMutexLocker lock(&m_mutex);
    ++m_stats.chunksServed;
    m_latency.record(latencySeconds);
}

void ServerMetrics::recordConnectionOpened()
{
    QMutexLocker lock(&m_mutex);
    ++m_stats.connectionsOpen;
    ++m_stats.connectionsTotal;
}

void ServerMetrics::recordConnectionClosed()
{
    QMutexLocker lock(&m_mutex);
    --m_stats.connectionsOpen;
}

void ServerMetrics::recordConnectionRejected()
{
    QMutexLocker lock(&m_mutex);
    ++m_stats.connectionsRejected;
}

void ServerMetrics::recordAuthFailure()
{
    QMutexLocker lock(&m_mutex);
    ++m_stats.authFailures;
}

ServerStats ServerMetrics::stats(const ServerCacheStats &cache) const
{
    QMutexLocker lock(&m_mutex);
    ServerStats s = m_stats;
    s.cache = cache;
    s.latencyP50Seconds = m_latency.quantile(0.5);
    s.latencyP99Seconds = m_latency.quantile(0.99);
    return s;
}

QByteArray ServerMetrics::prometheusText(const ServerCacheStats &cache) const
{
    const ServerStats s = stats(cache);
    QByteArray out;
    QMap<QString, qint64> errors = s.errorsByCode;
    int codeCount = 0;
    const protocol::ErrorCode *codes = protocol::allErrorCodes(&codeCount);
    for (int i = 0; i < codeCount; ++i)
        errors[protocol::errorCodeName(codes[i])] += 0; // every code present, even at zero
    labelled(out, "surfing_requests_total", "Requests received, by type.", "type", s.requestsByType);
    labelled(out, "surfing_errors_total", "Error replies sent, by code.", "code", errors);
    counter(out, "surfing_chunks_served_total", "Chunks sent completely.", s.chunksServed);
    counter(out, "surfing_bytes_sent_total", "Chunk bytes handed to client sockets.", s.bytesSent);
    counter(out, "surfing_connections_open", "Client connections open now.", s.connectionsOpen, "gauge");
    counter(out, "surfing_connections_total", "Client connections accepted.", s.connectionsTotal);
    counter(out, "surfing_connections_rejected_total", "Connections refused over the connection limit.", s.connectionsRejected);
    counter(out, "surfing_auth_failures_total", "Hellos refused for a missing or wrong token.", s.authFailures);
    counter(out, "surfing_cache_hits_total", "Chunk requests served from the server cache.", s.cache.hits);
    counter(out, "surfing_cache_misses_total", "Chunk requests that needed a storage read.", s.cache.misses);
    counter(out, "surfing_cache_joined_total", "Misses that shared another request's storage read.", s.cache.joined);
    counter(out, "surfing_cache_evictions_total", "Chunks evicted from the server cache.", s.cache.evictions);
    counter(out, "surfing_cache_loaded_bytes_total", "Bytes read from storage.", s.cache.bytesLoaded);
    counter(out, "surfing_cache_bytes", "Bytes held by the server cache.", s.cache.bytesCached, "gauge");
    counter(out, "surfing_cache_budget_bytes", "Byte budget of the server cache.", s.cache.budgetBytes, "gauge");
    QMutexLocker lock(&m_mutex);
    out += m_latency.prometheusText("surfing_get_latency_seconds", "Time from a get to its last piece handed to the socket.");
    return out;
}

} // namespace surfing
