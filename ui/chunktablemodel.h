// The chunks of a chunk directory as a table: name, kind, tensors, raw and stored size, ratio,
// codec and SHA-256.
#pragma once

#include "format/chunkmanifest.h"

#include <QAbstractTableModel>

namespace surfing::ui {

class ChunkTableModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { Name, Kind, Tensors, RawSize, StoredSize, Ratio, Codec, Sha256, ColumnCount };

    using QAbstractTableModel::QAbstractTableModel;

    void setManifest(const ChunkManifest &manifest);
    void clear();
    const ChunkManifest &manifest() const { return m_manifest; }

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    ChunkManifest m_manifest;
};

} // namespace surfing::ui
