#include "inference/inferenceoptions.h"

#include "base/bytesize.h"

#include <QThread>

#include <QJsonArray>

namespace surfing {

double InferenceStats::decodeTokensPerSecond() const
{
    const qint64 decodeNs = totalNs - timeToFirstTokenNs;
    return newTokens > batch && decodeNs > 0 ? (newTokens - batch) / (decodeNs / 1e9) : 0.0;
}

double InferenceStats::bytesPerToken() const
{
    // The first pass gives each prompt of a batch its first token.
    if (newTokens > batch && totalNs - timeToFirstTokenNs > 0)
        return double(decodeBytesFetched) / (newTokens - batch);
    return newTokens > 0 ? double(bytesFetched) / newTokens : 0.0;
}

double InferenceStats::fetchBytesPerSecond() const
{
    const qint64 decodeNs = totalNs - timeToFirstTokenNs;
    if (newTokens > batch && decodeNs > 0)
        return decodeBytesFetched / (decodeNs / 1e9);
    return totalNs > 0 ? bytesFetched / (totalNs / 1e9) : 0.0;
}

int defaultComputeThreads()
{
    bool ok = false;
    const int fromEnvironment = qEnvironmentVariableIntValue("SURFING_TORCH_THREADS", &ok);
    if (ok && fromEnvironment > 0)
        return fromEnvironment;
    return qBound(1, QThread::idealThreadCount(), 2);
}

QJsonObject InferenceStats::toJson() const
{
    QJsonObject o{
        {"cache_hit_rate", cacheHitRate()},
        {"avg_inference_time", avgInferenceTime()},
        {"steps", steps},
        {"prompt_tokens", promptTokens},
        {"new_tokens", newTokens},
        {"unit_lookups", unitLookups},
        {"cache_hits", cacheHits},
        {"bytes_fetched", double(bytesFetched)},
        {"decode_bytes_fetched", double(decodeBytesFetched)},
        {"bytes_per_token", bytesPerToken()},
        {"fetch_bytes_per_second", fetchBytesPerSecond()},
        {"fetch_wait_ms", fetchWaitNs / 1e6},
        {"compute_ms", computeNs / 1e6},
        {"total_ms", totalNs / 1e6},
        {"time_to_first_token_ms", timeToFirstTokenNs / 1e6},
        {"tokens_per_second", tokensPerSecond()},
        {"decode_tokens_per_second", decodeTokensPerSecond()},
        {"threads", threads},
        {"batch", batch},
        {"prefetch_depth", prefetchDepth},
        {"prefetch", prefetchAdaptive ? "auto" : "fixed"},
    };
    if (expertLookups > 0) {
        o.insert(QStringLiteral("expert_lookups"), expertLookups);
        o.insert(QStringLiteral("experts_per_token"), steps ? double(expertLookups) / steps : 0.0);
        o.insert(QStringLiteral("experts_fetched"), expertsFetched);
        o.insert(QStringLiteral("experts_fetched_per_token"), expertsFetchedPerToken());
        o.insert(QStringLiteral("expert_bytes_fetched"), double(expertBytesFetched));
    }
    return o;
}

QString InferenceStats::summary() const
{
    const auto rate = [](double bytesPerSecond) { return formatByteSize(qint64(bytesPerSecond)) + QStringLiteral("/s"); };
    return QStringLiteral("%1 prompt + %2 new tokens in %3 ms (%4 tokens/s, first token after %5 ms); "
                          "%6 forward passes, avg_inference_time %7 s; cache_hit_rate %8 (%9/%10); "
                          "fetched %11 (%14 per token at %15, prefetch %16), waited %12 ms for weights, "
                          "computed %13 ms")
        .arg(promptTokens).arg(newTokens).arg(totalNs / 1e6, 0, 'f', 1).arg(tokensPerSecond(), 0, 'f', 2)
        .arg(timeToFirstTokenNs / 1e6, 0, 'f', 1).arg(steps).arg(avgInferenceTime(), 0, 'f', 4)
        .arg(cacheHitRate(), 0, 'f', 3).arg(cacheHits).arg(unitLookups)
        .arg(formatByteSize(bytesFetched)).arg(fetchWaitNs / 1e6, 0, 'f', 1).arg(computeNs / 1e6, 0, 'f', 1)
        .arg(formatByteSize(qint64(bytesPerToken()))).arg(rate(fetchBytesPerSecond()))
        .arg(prefetchAdaptive ? QStringLiteral("auto, at %1 now").arg(prefetchDepth) : QString::number(prefetchDepth))
        + (expertLookups > 0 ? QStringLiteral("; experts: %1 run, %2 fetched (%3 per token, %4)")
                                   .arg(expertLookups).arg(expertsFetched).arg(expertsFetchedPerToken(), 0, 'f', 2)
                                   .arg(formatByteSize(expertBytesFetched))
                             : QString());
}

static QJsonArray idsJson(const QVector<qint64> &ids)
{
    QJsonArray a;
    for (qint64 id : ids)
        a.append(double(id));
    return a;
}

QJsonArray timelineJson(const QVector<LayerEvent> &timeline)
{
    QJsonArray events;
    for (const LayerEvent &e : timeline)
        events.append(QJsonObject{{"step", e.step}, {"unit", e.unit}, {"cache_hit", e.cacheHit},
                                  {"prefetched", e.prefetched}, {"arriving", e.arriving},
                                  {"bytes", double(e.bytes)}, {"fetch_start_ns", double(e.fetchStartNs)},
                                  {"fetch_end_ns", double(e.fetchEndNs)}, {"wait_ns", double(e.waitNs)},
                                  {"compute_start_ns", double(e.computeStartNs)},
                                  {"compute_end_ns", double(e.computeEndNs)}});
    return events;
}

QJsonObject InferenceResult::toJson() const
{
    QJsonObject o{{"model_type", modelType}, {"prompt_ids", idsJson(promptIds)}, {"ids", idsJson(newIds)},
                  {"text", text}, {"stats", stats.toJson()}, {"timeline", timelineJson(timeline)}};
    if (!outputs.isEmpty())
        o.insert(QStringLiteral("outputs"), outputs);
    if (!stopReason.isEmpty())
        o.insert(QStringLiteral("stop_reason"), stopReason);
    return o;
}

} // namespace surfing
