#include "timeserieschart.h"

#include "metricshistorymodel.h"

#include <QLegend>
#include <QLegendMarker>
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

QLineSeries *TimeSeriesChart::newSegment(Line &line)
{
    auto *series = new QLineSeries(this);
    series->setName(line.name);
    series->setPen(QPen(line.color, 2));
    series->setPointsVisible(true); // a lone sample still shows
    chart()->addSeries(series);
    series->attachAxis(m_x);
    series->attachAxis(line.axis);
    const QString name = line.name, unit = line.axis == m_y ? m_unit : line.axis->titleText();
    connect(series, &QLineSeries::hovered, this, [this, name, unit](const QPointF &p, bool state) {
        if (state)
            QToolTip::showText(QCursor::pos(), tr("%1: %2 %3 at %4 s").arg(name).arg(p.y(), 0, 'f', 2).arg(unit).arg(p.x(), 0, 'f', 1), this);
        else
            QToolTip::hideText();
    });
    if (!line.segments.isEmpty()) { // one legend entry per line
        const auto markers = chart()->legend()->markers(series);
        for (QLegendMarker *m : markers)
            m->setVisible(false);
    }
    line.segments.append(series);
    return series;
}

QLineSeries *TimeSeriesChart::addLine(const QString &name, int column, const QColor &color, double scale, const QString &rightUnit)
{
    Line line;
    line.name = name;
    line.color = color;
    line.column = column;
    line.scale = scale;
    line.axis = m_y;
    if (!rightUnit.isEmpty()) {
        if (!m_y2) {
            m_y2 = new QValueAxis;
            m_y2->setLabelFormat(QStringLiteral("%g"));
            m_y2->setTitleText(rightUnit);
            m_y2->setLinePenColor(color);
            m_y2->setLabelsColor(color);
            m_y2->setTitleBrush(color);
            chart()->addAxis(m_y2, Qt::AlignRight);
        }
        line.axis = m_y2;
    }
    QLineSeries *first = newSegment(line);
    m_lines.append(line);
    chart()->legend()->setVisible(m_lines.size() > 1);
    return first;
}

int TimeSeriesChart::segmentCount(int i) const
{
    return m_lines.value(i).used;
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
    double maxLeft = 0, maxRight = 0;
    for (Line &line : m_lines) {
        QVector<QList<QPointF>> pieces(1);
        for (const MetricsSample &s : samples) {
            if (s.seconds < from)
                continue;
            const double v = MetricsHistoryModel::value(s, line.column);
            if (std::isnan(v)) { // nothing to show here: the line breaks
                if (!pieces.constLast().isEmpty())
                    pieces.append(QList<QPointF>());
                continue;
            }
            pieces.last().append(QPointF(s.seconds, v * line.scale));
            double &maxY = line.axis == m_y ? maxLeft : maxRight;
            maxY = qMax(maxY, v * line.scale);
        }
        if (pieces.size() > 1 && pieces.constLast().isEmpty())
            pieces.removeLast();
        while (line.segments.size() < pieces.size())
            newSegment(line);
        for (int i = 0; i < line.segments.size(); ++i)
            line.segments.at(i)->replace(i < pieces.size() ? pieces.at(i) : QList<QPointF>());
        line.used = pieces.constFirst().isEmpty() ? 0 : int(pieces.size());
    }
    m_x->setRange(qMax(0.0, from), qMax(from + 1.0, newest));
    setRoundTicks(m_x);
    if (!m_fixedRange) {
        m_y->setRange(0, maxLeft > 0 ? maxLeft * 1.1 : 1.0);
        setRoundTicks(m_y);
    }
    if (m_y2) {
        m_y2->setRange(0, maxRight > 0 ? maxRight * 1.1 : 1.0);
        setRoundTicks(m_y2);
    }
}

} // namespace surfing::ui
