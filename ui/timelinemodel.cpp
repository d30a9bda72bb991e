#include "timelinemodel.h"

#include "formatting.h"

#include <QColor>
#include <QRegularExpression>

namespace surfing::ui {

TimelineModel::TimelineModel(QObject *parent)
    : QAbstractTableModel(parent)
{
    qRegisterMetaType<surfing::LayerEvent>();
    qRegisterMetaType<QVector<surfing::LayerEvent>>();
}

// Mixture-of-experts units (layer_3_expert_5) show up when the router first picks them, often
// steps later: they go with their layer, by expert index, so the rows stay in execution order.
int TimelineModel::unitRow(const QString &unit) const
{
    static const QRegularExpression expert(QStringLiteral("^(layer_\\d+)_expert_(\\d+)$"));
    const QRegularExpressionMatch m = expert.match(unit);
    const int layerRow = m.hasMatch() ? int(m_units.indexOf(m.captured(1))) : -1;
    if (layerRow < 0)
        return int(m_units.size());
    int row = layerRow + 1;
    for (; row < m_units.size(); ++row) {
        const QRegularExpressionMatch other = expert.match(m_units.at(row));
        if (!other.hasMatch() || other.captured(1) != m.captured(1) || other.captured(2).toInt() > m.captured(2).toInt())
            break;
    }
    return row;
}

void TimelineModel::startRun(const QString &title)
{
    clear();
    ++m_runNumber;
    m_runTitle = title;
}

void TimelineModel::addEvents(const QVector<LayerEvent> &incoming)
{
    if (incoming.isEmpty())
        return;
    // The session counts steps over its whole life; a run shows its own from 0.
    if (m_stepBase < 0)
        m_stepBase = incoming.constFirst().step;
    QVector<LayerEvent> events = incoming;
    for (LayerEvent &e : events)
        e.step = qMax(0, e.step - m_stepBase);
    if (m_events.isEmpty())
        m_originNs = startNs(events.constFirst());
    const int overflow = int(m_events.size() + events.size()) - m_capacity;
    if (overflow > 0) {
        const int drop = qMin(overflow, int(m_events.size()));
        if (drop > 0) {
            beginRemoveRows({}, 0, drop - 1);
            m_events.remove(0, drop);
            endRemoveRows();
        }
    }
    for (const LayerEvent &e : events) {
        if (!m_units.contains(e.unit))
            m_units.insert(unitRow(e.unit), e.unit);
        m_originNs = qMin(m_originNs, startNs(e));
    }
    const int first = int(m_events.size());
    beginInsertRows({}, first, first + int(events.size()) - 1);
    m_events += events;
    endInsertRows();
}

void TimelineModel::clear()
{
    beginResetModel();
    m_events.clear();
    m_units.clear();
    m_originNs = 0;
    m_stepBase = -1;
    endResetModel();
}

void TimelineModel::setCapacity(int events)
{
    m_capacity = qMax(1, events);
}

QByteArray TimelineModel::toCsv() const
{
    QByteArray csv = "step,unit,cache_hit,bytes,fetch_start_ms,fetch_end_ms,wait_ms,compute_start_ms,compute_end_ms\n";
    for (const LayerEvent &e : m_events) {
        csv += QStringLiteral("%1,%2,%3,%4,%5,%6,%7,%8,%9\n")
                   .arg(e.step).arg(e.unit).arg(e.cacheHit ? 1 : 0).arg(e.bytes)
                   .arg(relMs(e.fetchStartNs), 0, 'f', 3).arg(relMs(e.fetchEndNs), 0, 'f', 3)
                   .arg(e.waitNs / 1e6, 0, 'f', 3)
                   .arg(relMs(e.computeStartNs), 0, 'f', 3).arg(relMs(e.computeEndNs), 0, 'f', 3)
                   .toUtf8();
    }
    return csv;
}

int TimelineModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_events.size());
}

int TimelineModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant TimelineModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_events.size())
        return {};
    const LayerEvent &e = m_events.at(index.row());
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Step: return e.step;
        case Unit: return e.unit;
        case Result: return e.cacheHit ? tr("hit") : tr("miss");
        case Bytes: return e.bytes ? formatBytes(e.bytes) : QString();
        case FetchStart: return e.fetchStartNs ? QString::number(relMs(e.fetchStartNs), 'f', 2) : QString();
        case FetchMs: return e.fetchStartNs ? QString::number((e.fetchEndNs - e.fetchStartNs) / 1e6, 'f', 2) : QString();
        case WaitMs: return QString::number(e.waitNs / 1e6, 'f', 2);
        case ComputeStart: return QString::number(relMs(e.computeStartNs), 'f', 2);
        case ComputeMs: return QString::number((e.computeEndNs - e.computeStartNs) / 1e6, 'f', 2);
        }
    } else if (role == Qt::ForegroundRole && index.column() == Result) {
        return e.cacheHit ? QColor(0x2e7d32) : QColor(0xc62828);
    } else if (role == Qt::TextAlignmentRole && index.column() != Unit && index.column() != Result) {
        return int(Qt::AlignRight | Qt::AlignVCenter);
    }
    return {};
}

QVariant TimelineModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Step: return tr("Step");
    case Unit: return tr("Unit");
    case Result: return tr("Cache");
    case Bytes: return tr("Fetched");
    case FetchStart: return tr("Fetch start (ms)");
    case FetchMs: return tr("Fetch (ms)");
    case WaitMs: return tr("Wait (ms)");
    case ComputeStart: return tr("Compute start (ms)");
    case ComputeMs: return tr("Compute (ms)");
    }
    return {};
}

} // namespace surfing::ui
