#include "timelinewidget.h"

#include "formatting.h"
#include "timelinemodel.h"

#include <QHelpEvent>
#include <QPainter>
#include <QToolTip>
#include <cmath>

namespace surfing::ui {

namespace {
const QColor kFetchMiss(0x3d9be0);
const QColor kFetchPrefetched(0x9fd3f5);
const QColor kCompute(0x43a047);
const QColor kWait(0xe53935);
const QColor kHit(0x8e24aa); // a mark, not a bar: purple, never mistaken for compute's green
const QColor kStepBand(0xf3f6f9);
constexpr int kTopMargin = 24;
constexpr int kBottomMargin = 22;
}

TimelineWidget::TimelineWidget(TimelineModel *model, QWidget *parent)
    : QWidget(parent)
    , m_model(model)
{
    setMouseTracking(true);
    setBackgroundRole(QPalette::Base);
    setAutoFillBackground(true);
    auto repaint = [this] { if (!m_frozen) update(); };
    connect(model, &TimelineModel::rowsInserted, this, repaint);
    connect(model, &TimelineModel::rowsRemoved, this, repaint);
    connect(model, &TimelineModel::modelReset, this, [this] {
        m_frozenCount = -1;
        m_spanNs = 0;
        update();
    });
}

QColor TimelineWidget::colorOfFetchMiss() { return kFetchMiss; }
QColor TimelineWidget::colorOfPrefetch() { return kFetchPrefetched; }
QColor TimelineWidget::colorOfCompute() { return kCompute; }
QColor TimelineWidget::colorOfWait() { return kWait; }
QColor TimelineWidget::colorOfCacheHit() { return kHit; }

void TimelineWidget::setVisibleSteps(int steps)
{
    m_visibleSteps = qMax(0, steps);
    m_spanNs = 0;
    update();
}

void TimelineWidget::setFrozen(bool frozen)
{
    m_frozen = frozen;
    m_frozenCount = frozen ? int(m_model->events().size()) : -1;
    update();
}

TimelineWidget::Frame TimelineWidget::frame() const
{
    Frame f;
    const QVector<LayerEvent> &events = m_model->events();
    f.lastEvent = (m_frozenCount >= 0 ? qMin(m_frozenCount, int(events.size())) : int(events.size())) - 1;
    f.plot = rect().adjusted(m_labelWidth, kTopMargin, -10, -kBottomMargin);
    const int rows = qMax(1, int(m_model->units().size()));
    f.rowHeight = double(f.plot.height()) / rows;
    if (f.lastEvent < 0)
        return f;
    const int lastStep = events.at(f.lastEvent).step;
    const int firstStep = m_visibleSteps > 0 ? lastStep - m_visibleSteps + 1 : INT_MIN;
    f.firstEvent = f.lastEvent;
    while (f.firstEvent > 0 && events.at(f.firstEvent - 1).step >= firstStep)
        --f.firstEvent;
    f.t0 = TimelineModel::startNs(events.at(f.firstEvent));
    f.t1 = f.t0 + 1;
    for (int i = f.firstEvent; i <= f.lastEvent; ++i) {
        const LayerEvent &e = events.at(i);
        f.t0 = qMin(f.t0, TimelineModel::startNs(e));
        f.t1 = qMax(f.t1, qMax(e.computeEndNs, e.fetchEndNs));
    }
    // A stable scale: the span grows to a round value (1, 2 or 5 x 10^k ns) when the steps shown
    // outgrow it, and shrinks only when they would use less than a quarter of it (the long first
    // step, prompt and cold fetches, has left the window).
    const qint64 needed = f.t1 - f.t0;
    if (needed > m_spanNs || needed * 4 < m_spanNs) {
        qint64 round = 1;
        while (round * 10 <= needed)
            round *= 10;
        m_spanNs = needed <= round ? round : needed <= 2 * round ? 2 * round : needed <= 5 * round ? 5 * round : 10 * round;
    }
    f.t1 = f.t0 + m_spanNs;
    return f;
}

double TimelineWidget::xOf(const Frame &f, qint64 ns) const
{
    return f.plot.left() + double(ns - f.t0) / double(qMax<qint64>(1, f.t1 - f.t0)) * f.plot.width();
}

QRectF TimelineWidget::fetchRect(const Frame &f, const LayerEvent &e, int row) const
{
    const double top = f.plot.top() + row * f.rowHeight;
    const double x0 = xOf(f, e.fetchStartNs), x1 = qMax(x0 + 1.5, xOf(f, e.fetchEndNs));
    return QRectF(x0, top + f.rowHeight * 0.12, x1 - x0, f.rowHeight * 0.36);
}

QRectF TimelineWidget::computeRect(const Frame &f, const LayerEvent &e, int row) const
{
    const double top = f.plot.top() + row * f.rowHeight;
    const double x0 = xOf(f, e.computeStartNs), x1 = qMax(x0 + 1.5, xOf(f, e.computeEndNs));
    return QRectF(x0, top + f.rowHeight * 0.52, x1 - x0, f.rowHeight * 0.36);
}

void TimelineWidget::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing, false);
    const Frame f = frame();
    const QVector<LayerEvent> &events = m_model->events();
    drawLegend(p);
    drawAxes(p, f);
    if (f.lastEvent < 0) {
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(f.plot, Qt::AlignCenter, tr("No fetches yet. Run a prompt in the Playground to see each layer's fetch and compute."));
        return;
    }
    // Alternate background per step so steps are told apart.
    for (int i = f.firstEvent; i <= f.lastEvent; ++i) {
        const LayerEvent &e = events.at(i);
        if (e.step % 2 == 0)
            continue;
        const double x = xOf(f, TimelineModel::startNs(e));
        const double x1 = xOf(f, e.computeEndNs);
        p.fillRect(QRectF(x, f.plot.top(), x1 - x, f.plot.height()), kStepBand);
    }
    for (int i = f.firstEvent; i <= f.lastEvent; ++i) {
        const LayerEvent &e = events.at(i);
        const int row = int(m_model->units().indexOf(e.unit));
        if (e.fetchStartNs > 0)
            p.fillRect(fetchRect(f, e, row), e.cacheHit ? kFetchPrefetched : kFetchMiss);
        const QRectF compute = computeRect(f, e, row);
        if (e.waitNs > 0) {
            const double w0 = xOf(f, e.computeStartNs - e.waitNs);
            p.fillRect(QRectF(w0, compute.top(), compute.left() - w0, compute.height()), kWait);
        }
        p.fillRect(compute, kCompute);
        if (e.cacheHit) {
            p.setPen(QPen(kHit, 2));
            const double cx = compute.left() - 4, cy = f.plot.top() + (row + 0.3) * f.rowHeight;
            p.setBrush(kHit);
            p.drawEllipse(QPointF(cx, cy), 2.5, 2.5);
        }
    }
}

void TimelineWidget::drawAxes(QPainter &p, const Frame &f) const
{
    p.setPen(palette().color(QPalette::Text));
    const QStringList &units = m_model->units();
    QFont small = font();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    p.setFont(small);
    const int labelEvery = qMax(1, int(14 / qMax(1.0, f.rowHeight)));
    for (int row = 0; row < units.size(); ++row) {
        const double top = f.plot.top() + row * f.rowHeight;
        p.setPen(QColor(0xe0e6ec));
        p.drawLine(QPointF(f.plot.left(), top + f.rowHeight), QPointF(f.plot.right(), top + f.rowHeight));
        if (row % labelEvery != 0)
            continue;
        p.setPen(palette().color(QPalette::Text));
        p.drawText(QRectF(4, top, m_labelWidth - 8, qMax(f.rowHeight, 14.0)), Qt::AlignRight | Qt::AlignVCenter, units.at(row));
    }
    p.setPen(palette().color(QPalette::Mid));
    p.drawRect(f.plot.adjusted(0, 0, -1, -1));
    if (f.lastEvent < 0)
        return;
    // Ticks on round times (1, 2, 2.5 or 5 times a power of ten), about five across.
    const double spanMs = double(f.t1 - f.t0) / 1e6;
    if (spanMs <= 0)
        return;
    const double power = std::pow(10.0, std::floor(std::log10(spanMs / 5.0)));
    double stepMs = power * 10;
    for (double m : {1.0, 2.0, 2.5, 5.0}) {
        if (m * power >= spanMs / 5.0) {
            stepMs = m * power;
            break;
        }
    }
    for (double t = 0; t <= spanMs * 1.0001; t += stepMs) {
        const double x = f.plot.left() + f.plot.width() * t / spanMs;
        p.drawLine(QPointF(x, f.plot.bottom()), QPointF(x, f.plot.bottom() + 4));
        const QString label = t < 1000 ? tr("%1 ms").arg(t) : tr("%1 s").arg(t / 1000);
        QRectF box(x - 40, f.plot.bottom() + 4, 80, 16);
        Qt::Alignment align = Qt::AlignHCenter;
        if (box.right() > width()) { // the last label stays inside the widget
            box.moveRight(x);
            align = Qt::AlignRight;
        }
        p.drawText(box, align | Qt::AlignTop, label);
    }
}

void TimelineWidget::drawLegend(QPainter &p) const
{
    struct Item { QColor color; QString text; };
    const Item items[] = {{kFetchMiss, tr("fetch (miss)")}, {kFetchPrefetched, tr("prefetch")}, {kCompute, tr("compute")},
                          {kWait, tr("compute waiting for weights")}, {kHit, tr("cache hit")}};
    int x = m_labelWidth;
    p.setPen(palette().color(QPalette::Text));
    for (const Item &item : items) {
        p.fillRect(QRect(x, 7, 14, 10), item.color);
        p.drawText(QRect(x + 18, 2, 220, 20), Qt::AlignLeft | Qt::AlignVCenter, item.text);
        x += 28 + p.fontMetrics().horizontalAdvance(item.text);
    }
    const int steps = m_model->lastStep() + 1;
    if (steps > 0 || m_model->runNumber() > 0) {
        QString text = m_model->runNumber() > 0 ? tr("run %1 · %2").arg(m_model->runNumber()).arg(m_model->runTitle()) : QString();
        if (steps > 0)
            text += (text.isEmpty() ? QString() : QStringLiteral(" · "))
                    + (m_visibleSteps > 0 ? tr("steps %1–%2 of %3").arg(qMax(0, steps - m_visibleSteps)).arg(steps - 1).arg(steps)
                                          : tr("all %1 steps").arg(steps));
        const QRect box(x + 10, 2, width() - x - 20, 20);
        p.drawText(box, Qt::AlignRight | Qt::AlignVCenter, p.fontMetrics().elidedText(text, Qt::ElideMiddle, box.width()));
    }
}

int TimelineWidget::eventAt(const QPoint &pos) const
{
    const Frame f = frame();
    const QVector<LayerEvent> &events = m_model->events();
    for (int i = f.lastEvent; i >= f.firstEvent && i >= 0; --i) {
        const LayerEvent &e = events.at(i);
        const int row = int(m_model->units().indexOf(e.unit));
        const QRectF c = computeRect(f, e, row).adjusted(-3 - xOf(f, e.computeStartNs) + xOf(f, e.computeStartNs - e.waitNs), -2, 3, 2);
        if (c.contains(pos) || (e.fetchStartNs > 0 && fetchRect(f, e, row).adjusted(-3, -2, 3, 2).contains(pos)))
            return i;
    }
    return -1;
}

QString TimelineWidget::tooltipFor(int index) const
{
    const LayerEvent &e = m_model->events().at(index);
    QString text = tr("<b>%1</b>, step %2: cache %3").arg(e.unit).arg(e.step).arg(e.cacheHit ? tr("hit") : tr("miss"));
    if (e.fetchStartNs > 0)
        text += tr(e.cacheHit ? "<br>prefetched in %1 (%2)" : "<br>fetch %1 (%2)").arg(formatMilliseconds((e.fetchEndNs - e.fetchStartNs) / 1e6), formatBytes(e.bytes));
    text += tr("<br>compute %1").arg(formatMilliseconds((e.computeEndNs - e.computeStartNs) / 1e6));
    text += tr("<br>waited %1 for weights").arg(formatMilliseconds(e.waitNs / 1e6));
    return text;
}

bool TimelineWidget::event(QEvent *event)
{
    if (event->type() == QEvent::ToolTip) {
        auto *help = static_cast<QHelpEvent *>(event);
        const int index = eventAt(help->pos());
        if (index >= 0)
            QToolTip::showText(help->globalPos(), tooltipFor(index), this);
        else
            QToolTip::hideText();
        return true;
    }
    return QWidget::event(event);
}

} // namespace surfing::ui
