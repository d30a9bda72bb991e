#include "metrics/latencyhistogram.h"

#include <algorithm>

namespace surfing {

LatencyHistogram::LatencyHistogram()
    : m_bounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
      m_counts(m_bounds.size() + 1, 0)
{
}

void LatencyHistogram::record(double seconds)
{
    const auto it = std::lower_bound(m_bounds.begin(), m_bounds.end(), seconds);
    ++m_counts[int(it - m_bounds.begin())];
    ++m_count;
    m_sum += seconds;
}

QVector<qint64> LatencyHistogram::cumulativeCounts() const
{
    QVector<qint64> out(m_counts.size());
    qint64 total = 0;
    for (int i = 0; i < m_counts.size(); ++i)
        out[i] = (total += m_counts[i]);
    return out;
}

double LatencyHistogram::quantile(double q) const
{
    if (m_count == 0)
        return 0;
    const qint64 rank = qint64(q * double(m_count - 1)) + 1;
    const QVector<qint64> cumulative = cumulativeCounts();
    for (int i = 0; i < m_bounds.size(); ++i) {
        if (cumulative[i] >= rank)
            return m_bounds[i];
    }
    return m_bounds.last();
}

QByteArray LatencyHistogram::prometheusText(const char *name, const char *help) const
{
    QByteArray out;
    out += QByteArray("# HELP ") + name + ' ' + help + '\n';
    out += QByteArray("# TYPE ") + name + " histogram\n";
    const QVector<qint64> cumulative = cumulativeCounts();
    for (int i = 0; i < m_bounds.size(); ++i)
        out += QByteArray(name) + "_bucket{le=\"" + QByteArray::number(m_bounds[i]) + "\"} "
               + QByteArray::number(cumulative[i]) + '\n';
    out += QByteArray(name) + "_bucket{le=\"+Inf\"} " + QByteArray::number(m_count) + '\n';
    out += QByteArray(name) + "_sum " + QByteArray::number(m_sum, 'g', 12) + '\n';
    out += QByteArray(name) + "_count " + QByteArray::number(m_count) + '\n';
    return out;
}

} // namespace surfing
