// What a user asks of one inference run, and what it measured. Plain data, free of libtorch:
// the GUI and the CLI include this.
#pragma once

#include "metrics/layerevent.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <QVector>

namespace surfing {

struct InferenceOptions {
    int maxNewTokens = 64;
    double temperature = 0.0;  // 0 = greedy
    int topK = 0;              // 0 = off
    double topP = 1.0;         // 1 = off
    quint64 seed = 0;
    bool stopAtEos = true;
    int prefetchDepth = 2;     // units fetched ahead of the one computing; 0 = off
    bool adaptivePrefetch = false; // prefetchDepth is the deepest window; each next-token step
                                   // runs at it or at 0, whichever measures faster (PrefetchTuner)
    bool keepTensors = false;  // keep final hidden states / logits for dumpTensors()
    int threads = 0;           // compute threads; 0 = defaultComputeThreads()
    QStringList stopStrings;   // decoders: stop once the text contains one; the text ends before it
    bool addSpecialTokens = true; // false: the prompt is formatted already (a chat template wrote BOS)
};

// Compute threads when none are asked for: SURFING_TORCH_THREADS if set, else the cores of this
// machine up to 2 (docs/benchmarks-inference.md: what 1 and 2 threads measured).
int defaultComputeThreads();

struct InferenceStats {
    int steps = 0;               // forward passes
    int promptTokens = 0;
    int newTokens = 0;
    int unitLookups = 0;         // acquire() calls
    int cacheHits = 0;
    qint64 bytesFetched = 0;     // stored bytes moved
    qint64 decodeBytesFetched = 0; // of which in the steps after the first (one token each)
    qint64 fetchWaitNs = 0;      // compute blocked waiting for weights
    qint64 computeNs = 0;
    qint64 totalNs = 0;          // the whole run
    qint64 timeToFirstTokenNs = 0;
    int threads = 0;             // compute threads used
    int batch = 1;               // prompts generated together (run --batch)
    int prefetchDepth = 0;       // the window at the end of the run (adaptive: the one it kept)
    bool prefetchAdaptive = false;
    // Mixture-of-experts models: expert units run, how many of them moved bytes (not already
    // in the client cache), and those bytes. All 0 for dense models.
    int expertLookups = 0;
    int expertsFetched = 0;
    qint64 expertBytesFetched = 0;

    double cacheHitRate() const { return unitLookups ? double(cacheHits) / unitLookups : 0.0; }
    // Mean wall time of one forward pass, seconds (the original tool's avg_inference_time).
    double avgInferenceTime() const { return steps ? totalNs / 1e9 / steps : 0.0; }
    double tokensPerSecond() const { return totalNs > 0 ? newTokens / (totalNs / 1e9) : 0.0; }
    // Generation speed after the first token (decode steps only).
    double decodeTokensPerSecond() const;
    // Stored bytes moved per generated token: over the decode steps (the first pass fetches the
    // prompt's layers once, not per token), or over the whole run when there was one step.
    double bytesPerToken() const;
    // The achieved fetch rate, bytes per second of wall time, over the same span. Divided by
    // what the link can move, it is the fraction of the transfer bound the run reached.
    double fetchBytesPerSecond() const;
    double expertsFetchedPerToken() const { return steps ? double(expertsFetched) / steps : 0.0; }

    QJsonObject toJson() const;
    QString summary() const; // one human-readable paragraph for stderr
};

struct InferenceResult {
    QString modelType;
    QVector<qint64> promptIds;
    QVector<qint64> newIds;       // decoders
    QString text;                 // decoders: the continuation; BERT: a summary
    QJsonObject outputs;          // BERT: pooled/hidden summary (norms, first values)
    QVector<double> embedding;    // encoders: mean of the last hidden states (sentenceembedding.h)
    InferenceStats stats;
    QString stopReason;           // decoders: "eos", "stop_string", "max_tokens" or "cancelled"
    QVector<LayerEvent> timeline;

    QJsonObject toJson() const;   // ids, text, stats, timeline
};

// The "timeline" of run --json: one object per LayerEvent.
QJsonArray timelineJson(const QVector<LayerEvent> &timeline);

} // namespace surfing
