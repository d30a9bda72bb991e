// How a model obtains its weights during a forward pass: unit by unit, in a declared order,
// with the next `prefetchDepth` units fetched in the background while the current one computes.
// Records a LayerEvent per unit per step. Models never talk to a ChunkSource directly.
//
//   stream.beginStep({"embed_tokens", "layer_0", ..., "norm"});
//   UnitWeights w = stream.acquire("layer_0");   // blocks until the weights are here
//   { auto scope = stream.computeScope("layer_0"); hidden = layer(w, hidden); }
#pragma once

#include "inference/unitweights.h"
#include "metrics/layerevent.h"

#include <QStringList>
#include <functional>

namespace surfing {

class ChunkSource;

class WeightStream
{
public:
    WeightStream(ChunkSource &source, int prefetchDepth);

    // Fixed: every step keeps `depth` units on their way. Adaptive: `depth` is the deepest
    // window; next-token steps are timed and run at it or at none, whichever is faster here
    // (cache/prefetchtuner.h).
    void setPrefetchDepth(int depth, bool adaptive = false);
    int prefetchDepth() const; // the window the current (or next) step uses
    bool isPrefetchAdaptive() const;

    // A forward pass over a whole prompt, or one that adds one token to each row (the steps an
    // adaptive window times and compares).
    enum class StepKind { Prompt, NextToken };
    // Starts a forward pass that will ask for `unitOrder` in this order; prefetches its head.
    void beginStep(const QStringList &unitOrder, StepKind kind = StepKind::Prompt);
    // Replaces the units planned right after `after` whose names start with `prefix` (a guess,
    // e.g. the experts the previous token used) by `units` (what the step turned out to need,
    // e.g. the experts the router picked), and prefetches from there. Guessed units that are
    // not needed are released at the source, so a wrong guess holds no memory.
    void replan(const QString &after, const QString &prefix, const QStringList &units);
    // Blocks until the unit's weights are available; throws surfing::Error if they cannot be had.
    UnitWeights acquire(const QString &unit);

    class ComputeScope
    {
    public:
        ComputeScope(WeightStream &stream, QString unit);
        ~ComputeScope();
    private:
        WeightStream &m_stream;
        QString m_unit;
    };
    ComputeScope computeScope(const QString &unit) { return ComputeScope(*this, unit); }

    // Called with every finished LayerEvent (on the compute thread).
    void setEventSink(std::function<void(const LayerEvent &)> sink);
    int step() const;

private:
    struct Private;
    std::shared_ptr<Private> d;
};

} // namespace surfing
