// The server's request log: what was served (or refused) to whom, newest last, capped.
#pragma once

#include <QAbstractTableModel>
#include <QDateTime>
#include <QVector>

namespace surfing::ui {

class RequestLogModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { Time, Model, Chunk, Result, Bytes, Milliseconds, ColumnCount };

    explicit RequestLogModel(QObject *parent = nullptr);

    void setCapacity(int rows);
    void clear();

public Q_SLOTS:
    void addServed(const QString &model, const QString &chunk, qint64 bytes, double seconds, bool cacheHit);
    void addFailure(const QString &code, const QString &message);
    void addNote(const QString &text); // connections, start/stop

public:
    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    struct Entry {
        QTime time;
        QString model, chunk, result;
        qint64 bytes = -1;
        double ms = -1;
        bool error = false;
    };
    void add(Entry entry);

    QVector<Entry> m_entries;
    int m_capacity = 5000;
};

} // namespace surfing::ui
