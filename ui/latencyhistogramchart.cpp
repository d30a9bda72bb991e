#include "latencyhistogramchart.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QFont>
#include <QToolTip>
#include <QValueAxis>
#include <algorithm>

namespace surfing::ui {

QVector<double> LatencyHistogramChart::bucketBoundsMs()
{
    return {0.5, 1, 2, 5, 10, 25, 50, 100, 250, 1000};
}

LatencyHistogramChart::LatencyHistogramChart(QWidget *parent)
    : QChartView(parent)
    , m_set(new QBarSet(tr("fetches")))
    , m_x(new QBarCategoryAxis)
    , m_y(new QValueAxis)
{
    auto *chart = new QChart;
    chart->setTitle(tr("Fetch latency distribution"));
    chart->setAnimationOptions(QChart::NoAnimation);
    chart->legend()->hide();
    chart->setMargins(QMargins(4, 4, 4, 4));
    auto *series = new QBarSeries(this);
    m_set->setColor(QColor(0x3d9be0));
    series->append(m_set);
    series->setBarWidth(0.9);
    chart->addSeries(series);
    // Short labels: a bar is ~30 px wide on a laptop screen and Qt Charts elides anything longer.
    QStringList labels;
    for (double b : bucketBoundsMs())
        labels << (b >= 1000 ? QStringLiteral("%1k").arg(b / 1000) : QString::number(b));
    labels << QStringLiteral(">%1").arg(labels.constLast());
    m_x->append(labels);
    QFont small = m_x->labelsFont();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    m_x->setLabelsFont(small);
    m_x->setTitleText(tr("ms (upper bound of each bucket)"));
    m_y->setLabelFormat(QStringLiteral("%d"));
    m_y->setTitleText(tr("count"));
    chart->addAxis(m_x, Qt::AlignBottom);
    chart->addAxis(m_y, Qt::AlignLeft);
    series->attachAxis(m_x);
    series->attachAxis(m_y);
    setChart(chart);
    setMinimumSize(260, 190);
    connect(series, &QBarSeries::hovered, this, [this, labels](bool state, int index) {
        if (state && index < m_counts.size())
            QToolTip::showText(QCursor::pos(), tr("%1 fetches took up to %2 ms").arg(m_counts.at(index)).arg(labels.at(index)), this);
        else
            QToolTip::hideText();
    });
    refresh({});
}

void LatencyHistogramChart::refresh(const QVector<double> &latenciesMs)
{
    const QVector<double> bounds = bucketBoundsMs();
    QVector<qint64> counts(bounds.size() + 1, 0);
    for (double ms : latenciesMs) {
        const auto it = std::lower_bound(bounds.begin(), bounds.end(), ms);
        ++counts[int(it - bounds.begin())];
    }
    if (counts == m_counts)
        return;
    m_counts = counts;
    QList<qreal> values;
    qint64 maxCount = 0;
    for (qint64 c : counts) {
        values << qreal(c);
        maxCount = qMax(maxCount, c);
    }
    if (m_set->count() == values.size()) {
        for (int i = 0; i < values.size(); ++i)
            m_set->replace(i, values.at(i));
    } else {
        m_set->remove(0, m_set->count());
        m_set->append(values);
    }
    m_y->setRange(0, qMax<qint64>(1, qint64(maxCount * 1.15) + 1));
    m_y->applyNiceNumbers();
}

} // namespace surfing::ui
