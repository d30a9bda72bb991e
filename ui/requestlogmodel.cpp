#include "requestlogmodel.h"

#include "formatting.h"

#include <QColor>

namespace surfing::ui {

RequestLogModel::RequestLogModel(QObject *parent)
    : QAbstractTableModel(parent)
{
}

void RequestLogModel::setCapacity(int rows)
{
    m_capacity = qMax(1, rows);
}

void RequestLogModel::clear()
{
    beginResetModel();
    m_entries.clear();
    endResetModel();
}

void RequestLogModel::add(Entry entry)
{
    if (m_entries.size() >= m_capacity) {
        beginRemoveRows({}, 0, 0);
        m_entries.removeFirst();
        endRemoveRows();
    }
    beginInsertRows({}, int(m_entries.size()), int(m_entries.size()));
    m_entries.append(std::move(entry));
    endInsertRows();
}

void RequestLogModel::addServed(const QString &model, const QString &chunk, qint64 bytes, double seconds, bool cacheHit)
{
    add({QTime::currentTime(), model, chunk, cacheHit ? tr("served (cache)") : tr("served (storage)"), bytes, seconds * 1000.0, false});
}

void RequestLogModel::addFailure(const QString &code, const QString &message)
{
    add({QTime::currentTime(), QString(), message, code, -1, -1, true});
}

void RequestLogModel::addNote(const QString &text)
{
    add({QTime::currentTime(), QString(), text, QString(), -1, -1, false});
}

int RequestLogModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_entries.size());
}

int RequestLogModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant RequestLogModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_entries.size())
        return {};
    const Entry &e = m_entries.at(index.row());
    if (role == Qt::DisplayRole || role == Qt::ToolTipRole) {
        switch (index.column()) {
        case Time: return e.time.toString(QStringLiteral("HH:mm:ss.zzz"));
        case Model: return e.model;
        case Chunk: return e.chunk;
        case Result: return e.result;
        case Bytes: return e.bytes >= 0 ? formatBytes(e.bytes) : QString();
        case Milliseconds: return e.ms >= 0 ? formatMilliseconds(e.ms) : QString();
        }
    } else if (role == Qt::ForegroundRole && e.error) {
        return QColor(0xc62828);
    } else if (role == Qt::TextAlignmentRole && (index.column() == Bytes || index.column() == Milliseconds)) {
        return int(Qt::AlignRight | Qt::AlignVCenter);
    }
    return {};
}

QVariant RequestLogModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Time: return tr("Time");
    case Model: return tr("Model");
    case Chunk: return tr("Chunk / event");
    case Result: return tr("Result");
    case Bytes: return tr("Bytes");
    case Milliseconds: return tr("Time taken");
    }
    return {};
}

} // namespace surfing::ui
