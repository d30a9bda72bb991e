// Chooses how far to prefetch by measuring it (`run --prefetch auto`, the default).
//
// Prefetching hides a fetch behind compute only when the fetch does not need the cores compute
// runs on. Over a slow or paced link it does: the bytes trickle in while the layers compute. On
// a fast link whose receiving costs the same cores (loopback, a server on this machine, a client
// with two cores), both compete for the CPU and the memory bus, and a step that fetches and
// computes in turn is faster: 1 GB f32 model over loopback with a 256 MiB budget, 4.09 tokens/s
// at depth 0 against 3.79 at depth 2 (medians of 5 interleaved runs, docs/benchmarks-bounded.md).
// Which case a client is in depends on the link, the server and the model, so it is measured:
// next-token steps run alternately at the deepest window and at none until each has
// kSamplesPerDepth of them and every step of one was faster than every step of the other, or each
// has kMaxSamplesPerDepth (a close call costs little whichever way it goes, so it may take more
// steps); the one with the lower median step time is kept for kKeptSteps steps, then both are
// measured again (links and neighbours change). The first step
// at a new depth is not counted: the step before it fetched its first units at the old depth
// (a window reaches into the next step), so it would credit one depth with the other's work.
//
// Pure policy: the caller times the steps (WeightStream does) and applies depth().
#pragma once

#include <QVector>

namespace surfing {

class PrefetchTuner
{
public:
    static constexpr int kSamplesPerDepth = 3;
    static constexpr int kMaxSamplesPerDepth = 5;
    static constexpr int kKeptSteps = 64;

    // `maxDepth` >= 0: the deepest window tried (the other candidate is 0).
    explicit PrefetchTuner(int maxDepth);

    int maxDepth() const { return m_maxDepth; }
    // The depth the next next-token step should run at.
    int depth() const { return m_depth; }
    // True while both depths are being measured; false while one is kept.
    bool isMeasuring() const { return m_kept == 0; }

    // A next-token step took `seconds` at depth(). Steps of other shapes (a prompt, a batch
    // that changed) are not reported: they would compare unlike work.
    void stepMeasured(double seconds);
    // A prompt step ran (at the deepest window): the next step inherits what it fetched ahead.
    void promptStepRan() { m_lastStepDepth = m_maxDepth; }

private:
    bool canDecide() const;
    void decide();

    int m_maxDepth = 0;
    int m_depth = 0;
    int m_lastStepDepth = 0; // the depth the step before ran at (a prompt: the deepest)
    int m_kept = 0; // steps left at the kept depth; 0 while measuring
    QVector<double> m_deep, m_none; // step seconds at maxDepth and at 0, this round
};

} // namespace surfing
