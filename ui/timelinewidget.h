// Draws the timeline model as a Gantt chart: one row per unit, time left to right, for each
// event a fetch bar (network + decode) and a compute bar, hits marked, compute stalls (waiting
// for weights) in red, so one can see whether prefetch hid the fetches behind compute. One run at
// a time (TimelineModel::startRun()); the x scale holds still while it is shown, growing only to
// the next round span when the run outgrows it.
#pragma once

#include <QColor>
#include <QWidget>

namespace surfing {
struct LayerEvent;
}

namespace surfing::ui {

class TimelineModel;

class TimelineWidget : public QWidget
{
    Q_OBJECT
public:
    explicit TimelineWidget(TimelineModel *model, QWidget *parent = nullptr);

    // How many of the most recent steps are shown (0: all).
    void setVisibleSteps(int steps);
    int visibleSteps() const { return m_visibleSteps; }
    void setFrozen(bool frozen); // pause: keep drawing what was shown
    QSize sizeHint() const override { return {900, 320}; }
    QSize minimumSizeHint() const override { return {300, 160}; }

    // The event drawn under `pos`, or -1.
    int eventAt(const QPoint &pos) const;
    // Legend colours, one per kind of bar or mark.
    static QColor colorOfFetchMiss();
    static QColor colorOfPrefetch();
    static QColor colorOfCompute();
    static QColor colorOfWait();
    static QColor colorOfCacheHit();
    qint64 spanNs() const { return m_spanNs; } // the x scale (0: nothing drawn yet)

protected:
    void paintEvent(QPaintEvent *event) override;
    bool event(QEvent *event) override;

private:
    struct Frame {
        int firstEvent = 0;   // first event index shown
        int lastEvent = -1;
        qint64 t0 = 0, t1 = 1; // ns range on the x axis
        QRect plot;
        double rowHeight = 0;
    };
    Frame frame() const;
    double xOf(const Frame &f, qint64 ns) const;
    QRectF fetchRect(const Frame &f, const LayerEvent &e, int row) const;
    QRectF computeRect(const Frame &f, const LayerEvent &e, int row) const;
    void drawAxes(QPainter &p, const Frame &f) const;
    void drawLegend(QPainter &p) const;
    QString tooltipFor(int index) const;

    TimelineModel *m_model;
    int m_visibleSteps = 3;
    bool m_frozen = false;
    int m_frozenCount = -1;
    int m_labelWidth = 110;
    mutable qint64 m_spanNs = 0; // the x scale only grows (to round values) while a run is shown
};

} // namespace surfing::ui
