// The per-layer fetch timeline of one run of one model: every LayerEvent of every step, oldest
// first, with steps counted and times measured from the run's start. startRun() begins the next
// run afresh. One model drives the timeline views (the bar chart widget and the event table) and
// the CSV export.
#pragma once

#include "metrics/layerevent.h"

#include <QAbstractTableModel>
#include <QStringList>
#include <QVector>

namespace surfing::ui {

class TimelineModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { Step, Unit, Result, Bytes, FetchStart, FetchMs, WaitMs, ComputeStart, ComputeMs, ColumnCount };

    explicit TimelineModel(QObject *parent = nullptr);

    // Forgets the previous run; `title` names the new one ("stories260K from ws://...").
    void startRun(const QString &title);
    void addEvents(const QVector<LayerEvent> &events); // steps renumbered from 0 for the run
    void clear();
    int runNumber() const { return m_runNumber; } // 0: no run yet
    QString runTitle() const { return m_runTitle; }
    void setCapacity(int events); // oldest events are dropped beyond it

    const QVector<LayerEvent> &events() const { return m_events; }
    // Units in the order they were first seen (the model's execution order); an expert unit
    // seen later joins its layer.
    const QStringList &units() const { return m_units; }
    int lastStep() const { return m_events.isEmpty() ? -1 : m_events.constLast().step; }
    qint64 originNs() const { return m_originNs; } // time zero of the FetchStart/ComputeStart columns
    QByteArray toCsv() const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    static qint64 startNs(const LayerEvent &e) { return e.fetchStartNs > 0 ? e.fetchStartNs : e.computeStartNs - e.waitNs; }

private:
    int unitRow(const QString &unit) const; // where a newly seen unit goes in units()
    double relMs(qint64 ns) const { return ns > 0 ? double(ns - m_originNs) / 1e6 : 0.0; }

    QVector<LayerEvent> m_events;
    QStringList m_units;
    qint64 m_originNs = 0;
    int m_stepBase = -1; // the session's step number of the run's first event
    int m_runNumber = 0;
    QString m_runTitle;
    int m_capacity = 50000;
};

} // namespace surfing::ui
