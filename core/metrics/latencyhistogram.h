// A cumulative latency histogram with fixed bucket bounds, as Prometheus expects them.
#pragma once

#include <QByteArray>
#include <QVector>

namespace surfing {

class LatencyHistogram
{
public:
    LatencyHistogram(); // bounds from 1 ms to 10 s

    void record(double seconds);

    const QVector<double> &bounds() const { return m_bounds; }
    QVector<qint64> cumulativeCounts() const; // one per bound, then +Inf
    qint64 count() const { return m_count; }
    double sum() const { return m_sum; }
    // An estimate from the buckets (upper bound of the bucket holding quantile q); 0 when empty.
    double quantile(double q) const;

    // "# TYPE name histogram" and the _bucket/_sum/_count lines.
    QByteArray prometheusText(const char *name, const char *help) const;

private:
    QVector<double> m_bounds;
    QVector<qint64> m_counts; // per bucket, last is +Inf
    qint64 m_count = 0;
    double m_sum = 0;
};

} // namespace surfing
