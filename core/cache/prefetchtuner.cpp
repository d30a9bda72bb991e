#include "cache/prefetchtuner.h"

#include <QLoggingCategory>

#include <algorithm>

Q_LOGGING_CATEGORY(lcPrefetch, "surfing.prefetch")

namespace surfing {
namespace {

double median(QVector<double> v)
{
    std::sort(v.begin(), v.end());
    const int n = int(v.size());
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

} // namespace

PrefetchTuner::PrefetchTuner(int maxDepth)
    : m_maxDepth(std::max(0, maxDepth)), m_depth(m_maxDepth), m_lastStepDepth(m_maxDepth)
{
}

void PrefetchTuner::stepMeasured(double seconds)
{
    if (m_maxDepth == 0)
        return; // nothing to choose
    const bool settled = m_depth == m_lastStepDepth;
    m_lastStepDepth = m_depth;
    if (m_kept > 0) {
        if (--m_kept == 0) { // measure both again
            m_deep.clear();
            m_none.clear();
        }
        return;
    }
    if (!settled)
        return;
    (m_depth == 0 ? m_none : m_deep).append(seconds);
    if (canDecide())
        return decide();
    // In turn, so both see the same moments of a shared machine.
    m_depth = m_depth == 0 ? m_maxDepth : 0;
}

bool PrefetchTuner::canDecide() const
{
    if (m_deep.size() < kSamplesPerDepth || m_none.size() < kSamplesPerDepth)
        return false;
    if (m_deep.size() >= kMaxSamplesPerDepth && m_none.size() >= kMaxSamplesPerDepth)
        return true;
    const auto [deepMin, deepMax] = std::minmax_element(m_deep.begin(), m_deep.end());
    const auto [noneMin, noneMax] = std::minmax_element(m_none.begin(), m_none.end());
    return *deepMax < *noneMin || *noneMax < *deepMin; // apart: a clear call
}

void PrefetchTuner::decide()
{
    const double deep = median(m_deep), none = median(m_none);
    m_depth = none < deep ? 0 : m_maxDepth;
    m_kept = kKeptSteps;
    qCDebug(lcPrefetch,
           "prefetch %d kept for %d steps: median step %.3f s without prefetch, %.3f s at depth %d (%d steps each)",
           m_depth, kKeptSteps, none, deep, m_maxDepth, int(m_none.size()));
}

} // namespace surfing
