#include "timeserieschart.h"

#include "metricshistorymodel.h"

#include <QLineSeries>
#include <QToolTip>
#include <QValueAxis>
#include <cmath>

namespace surfing::ui {

namespace {
// Ticks on round values (1, 2 or 5 times a power of ten) while the range stays fitted to the
// data: 0/25/50 rather than 63.1/126.3, and no empty half chart as applyNiceNumbers() leaves.
void setRoundTicks(QValueAxis *axis)
{
    const double span = axis->max() - axis->min();
    if (span <= 0)
        return;
    const double raw = span / 4.0;
    const double power = std::pow(10.0, std::floor(std::log10(raw)));
    double step = power * 10;
    for (double f : {1.0, 2.0, 2.5, 5.0}) {
        if (f * power >= raw) {
            step = f * power;
            break;
        }
    }
    axis->setTickType(QValueAxis::TicksDynamic);
    axis->setTickAnchor(0.0);
    axis->setTickInterval(step);
}
} // namespace

TimeSeriesChart::TimeSeriesChart(const QString &title, const QString &unit, QWidget *parent)
    : QChartView(parent)
    , m_x(new QValueAxis)
    , m_y(new QValueAxis)
    , m_unit(unit)
{
    auto *chart = new QChart;
    chart->setTitle(title);
    chart->setAnimationOptions(QChart::NoAnimation);
    chart->legend()->setAlignment(Qt::AlignBottom);
    chart->setMargins(QMargins(4, 4, 4, 4));
    m_x->setTitleText(tr("seconds"));
    m_x->setLabelFormat(QStringLiteral("%g"));
    m_y->setLabelFormat(QStringLiteral("%g"));
    m_y->setTitleText(unit);
    chart->addAxis(m_x, Qt::AlignBottom);
    chart->addAxis(m_y, Qt::AlignLeft);
    setChart(chart);
    setRenderHint(QPainter::Antialiasing);
    setMinimumSize(260, 190);
}

QLineSeries *TimeSeriesChart::addLine(const QString &name, int column, const QColor &color, double scale)
{
    auto *series = new QLineSeries(this);
    series->setName(name);
    series->setPen(QPen(color, 2));
    series->setPointsVisible(true); // a lone sample still shows
    chart()->addSeries(series);
    series->attachAxis(m_x);
    series->attachAxis(m_y);
    connect(series, &QLineSeries::hovered, this, [this, name](const QPointF &p, bool state) {
        if (state)
            QToolTip::showText(QCursor::pos(), tr("%1: %2 %3 at %4 s").arg(name).arg(p.y(), 0, 'f', 2).arg(m_unit).arg(p.x(), 0, 'f', 1), this);
        else
            QToolTip::hideText();
    });
    m_lines.append({series, column, scale});
    chart()->legend()->setVisible(m_lines.size() > 1);
    return series;
}

void TimeSeriesChart::setFixedRange(double minY, double maxY)
{
    m_fixedRange = true;
    // A little headroom so points on the maximum are not cut by the plot's edge.
    m_y->setRange(minY, maxY + (maxY - minY) * 0.04);
    setRoundTicks(m_y);
}

void TimeSeriesChart::refresh(const QVector<MetricsSample> &samples, double spanSeconds)
{
    const double newest = samples.isEmpty() ? 0.0 : samples.constLast().seconds;
    const double from = spanSeconds > 0 ? newest - spanSeconds : (samples.isEmpty() ? 0.0 : samples.constFirst().seconds);
    double maxY = 0;
    for (const Line &line : std::as_const(m_lines)) {
        QList<QPointF> points;
        for (const MetricsSample &s : samples) {
            if (s.seconds < from)
                continue;
            const double v = MetricsHistoryModel::value(s, line.column);
            if (std::isnan(v))
                continue;
            points.append(QPointF(s.seconds, v * line.scale));
            maxY = qMax(maxY, v * line.scale);
        }
        line.series->replace(points);
    }
    m_x->setRange(qMax(0.0, from), qMax(from + 1.0, newest));
    setRoundTicks(m_x);
    if (!m_fixedRange)
    {
        m_y->setRange(0, maxY > 0 ? maxY * 1.1 : 1.0);
        setRoundTicks(m_y);
    }
}

} // namespace surfing::ui
