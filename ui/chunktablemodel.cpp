#include "chunktablemodel.h"

#include "formatting.h"

#include <QFontDatabase>

namespace surfing::ui {

void ChunkTableModel::setManifest(const ChunkManifest &manifest)
{
    beginResetModel();
    m_manifest = manifest;
    endResetModel();
}

void ChunkTableModel::clear()
{
    setManifest({});
}

int ChunkTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_manifest.chunks.size());
}

int ChunkTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ChunkTableModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_manifest.chunks.size())
        return {};
    const ManifestChunk &c = m_manifest.chunks.at(index.row());
    const double ratio = c.storedBytes > 0 ? double(c.rawBytes) / double(c.storedBytes) : 0.0;
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Name: return c.name;
        case Kind: return c.kind;
        case Tensors: return int(c.tensors.size());
        case RawSize: return formatBytes(c.rawBytes);
        case StoredSize: return formatBytes(c.storedBytes);
        case Ratio: return QStringLiteral("%1×").arg(ratio, 0, 'f', 2);
        case Codec: return codecName(c.codec);
        case Sha256: return QString::fromLatin1(c.sha256);
        }
    } else if (role == Qt::UserRole) { // raw values, for sorting and tests
        switch (index.column()) {
        case RawSize: return c.rawBytes;
        case StoredSize: return c.storedBytes;
        case Ratio: return ratio;
        case Sha256: return QString::fromLatin1(c.sha256);
        default: return data(index, Qt::DisplayRole);
        }
    } else if (role == Qt::FontRole && index.column() == Sha256) {
        return QFontDatabase::systemFont(QFontDatabase::FixedFont);
    } else if (role == Qt::ToolTipRole) {
        if (index.column() == Sha256)
            return QString::fromLatin1(c.sha256);
        QStringList tensors;
        for (const ManifestTensor &t : c.tensors)
            tensors << QStringLiteral("%1  %2").arg(t.name, dtypeName(t.dtype));
        return QStringLiteral("%1 (%2)\n%3").arg(c.name, c.file, tensors.join(QLatin1Char('\n')));
    } else if (role == Qt::TextAlignmentRole) {
        if (index.column() >= Tensors && index.column() <= Ratio)
            return int(Qt::AlignRight | Qt::AlignVCenter);
    }
    return {};
}

QVariant ChunkTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Name: return tr("Chunk");
    case Kind: return tr("Kind");
    case Tensors: return tr("Tensors");
    case RawSize: return tr("Raw");
    case StoredSize: return tr("Stored");
    case Ratio: return tr("Ratio");
    case Codec: return tr("Codec");
    case Sha256: return tr("SHA-256");
    }
    return {};
}

} // namespace surfing::ui
