// safetensors: 8-byte little-endian header length N, N bytes of UTF-8 JSON, then the data buffer.
// The parser is strict (see docs/chunk-format.md): every offset is checked against the file,
// tensors may neither overlap nor leave gaps, and shape x dtype size must equal each span.
#pragma once

#include "format/tensorinfo.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QFile>
#include <QMap>
#include <QString>
#include <QVector>

namespace surfing {

constexpr qint64 kMaxSafetensorsHeaderBytes = 100 * 1000 * 1000;

struct SafetensorsHeader {
    QVector<TensorInfo> tensors; // sorted by data offset
    QMap<QString, QString> metadata;
    qint64 dataOffset = 0; // 8 + N: where the data buffer starts in the file
    qint64 dataSize = 0;

    const TensorInfo *find(const QString &name) const;
};

// Parses and validates a whole safetensors file held in memory. `source` names the file in errors.
// Throws surfing::Error.
SafetensorsHeader parseSafetensors(QByteArrayView file, const QString &source);

// A safetensors file mapped into memory; tensor data is read without copying.
class SafetensorsFile
{
public:
    explicit SafetensorsFile(const QString &path); // throws surfing::Error
    ~SafetensorsFile();
    SafetensorsFile(const SafetensorsFile &) = delete;
    SafetensorsFile &operator=(const SafetensorsFile &) = delete;

    QString path() const { return m_file.fileName(); }
    const SafetensorsHeader &header() const { return m_header; }
    QByteArrayView tensorData(const TensorInfo &tensor) const;
    qint64 fileOffset(const TensorInfo &tensor) const { return m_header.dataOffset + tensor.begin; }

private:
    QFile m_file;
    const uchar *m_map = nullptr;
    qint64 m_size = 0;
    SafetensorsHeader m_header;
};

// A tensor to be written: its bytes are referenced, not owned.
struct TensorView {
    QString name;
    Dtype dtype = Dtype::F32;
    QVector<qint64> shape;
    QByteArrayView data;
};

// The 8-byte length, the JSON header (metadata first, then tensors in the given order, data laid
// out back to back in that order) and padding so the data buffer starts 8-byte aligned.
// The data buffer itself is the concatenation of the tensors' bytes in the same order.
QByteArray safetensorsPrefix(const QVector<TensorView> &tensors,
                             const QMap<QString, QString> &metadata);

// The whole file in memory: prefix followed by the data.
QByteArray serializeSafetensors(const QVector<TensorView> &tensors,
                                const QMap<QString, QString> &metadata = {});

} // namespace surfing
