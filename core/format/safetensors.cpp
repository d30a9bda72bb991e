#include "format/safetensors.h"

#include "base/error.h"
#include "base/files.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtEndian>
#include <algorithm>
#include <cmath>

namespace surfing {
namespace {

constexpr double kMaxExactInteger = 9007199254740992.0; // 2^53

[[noreturn]] void fail(const QString &source, const QString &what)
{
    throw Error(QStringLiteral("%1: invalid safetensors file: %2").arg(source, what));
}

qint64 toOffset(const QJsonValue &value, const QString &source, const QString &field)
{
    const double d = value.toDouble(-1);
    if (!value.isDouble() || d < 0 || d > kMaxExactInteger || std::floor(d) != d)
        fail(source, QStringLiteral("%1 must be a non-negative integer").arg(field));
    return qint64(d);
}

TensorInfo parseTensorEntry(const QString &name, const QJsonValue &value, const QString &source)
{
    const QString where = QStringLiteral("tensor '%1'").arg(name);
    if (!value.isObject())
        fail(source, where + QStringLiteral(" is not a JSON object"));
    const QJsonObject entry = value.toObject();

    TensorInfo info;
    info.name = name;
    const auto dtype = dtypeFromName(entry.value(QLatin1String("dtype")).toString());
    if (!dtype)
        fail(source, QStringLiteral("%1: unknown dtype '%2' (supported: %3)")
                         .arg(where, entry.value(QLatin1String("dtype")).toVariant().toString(),
                              supportedDtypeNames()));
    info.dtype = *dtype;

    const QJsonValue shape = entry.value(QLatin1String("shape"));
    if (!shape.isArray())
        fail(source, where + QStringLiteral(": 'shape' must be an array"));
    qint64 elements = 1;
    for (const QJsonValue &dim : shape.toArray()) {
        const qint64 d = toOffset(dim, source, where + QStringLiteral(": shape entry"));
        if (__builtin_mul_overflow(elements, d, &elements))
            fail(source, where + QStringLiteral(": shape is too large"));
        info.shape.append(d);
    }

    const QJsonArray offsets = entry.value(QLatin1String("data_offsets")).toArray();
    if (!entry.value(QLatin1String("data_offsets")).isArray() || offsets.size() != 2)
        fail(source, where + QStringLiteral(": 'data_offsets' must be [begin, end]"));
    info.begin = toOffset(offsets[0], source, where + QStringLiteral(": data_offsets[0]"));
    info.end = toOffset(offsets[1], source, where + QStringLiteral(": data_offsets[1]"));
    if (info.end < info.begin)
        fail(source, where + QStringLiteral(": data_offsets end %1 is before begin %2")
                                 .arg(info.end).arg(info.begin));

    const int block = dtypeBlockValues(info.dtype);
    const qint64 lastDim = info.shape.isEmpty() ? 1 : info.shape.last();
    const qint64 expected = dtypeByteCount(info.dtype, elements, lastDim);
    if (block > 1 && expected < 0)
        fail(source, QStringLiteral("%1: %2 needs a last dimension that is a whole number of %3-value blocks, "
                                    "but the shape's last dimension is %4")
                         .arg(where, dtypeName(info.dtype)).arg(block).arg(lastDim));
    if (block > 1 && expected != info.byteSize())
        fail(source, QStringLiteral("%1: wrong block count: %2 data of %3 bytes holds %4 blocks of %5 bytes%6, "
                                    "but the shape needs %7 blocks")
                         .arg(where, dtypeName(info.dtype)).arg(info.byteSize())
                         .arg(info.byteSize() / dtypeSize(info.dtype)).arg(dtypeSize(info.dtype))
                         .arg(info.byteSize() % dtypeSize(info.dtype)
                                  ? QStringLiteral(" and a truncated block of %1 bytes").arg(info.byteSize() % dtypeSize(info.dtype))
                                  : QString())
                         .arg(expected / dtypeSize(info.dtype)));
    if (expected < 0 || expected != info.byteSize())
        fail(source, QStringLiteral("%1: shape x dtype size is %2 bytes but data_offsets span %3")
                         .arg(where).arg(expected).arg(info.byteSize()));
    return info;
}

QMap<QString, QString> parseMetadata(const QJsonValue &value, const QString &source)
{
    if (!value.isObject())
        fail(source, QStringLiteral("'__metadata__' must be an object of strings"));
    QMap<QString, QString> metadata;
    const QJsonObject object = value.toObject();
    for (auto it = object.begin(); it != object.end(); ++it) {
        if (!it.value().isString())
            fail(source, QStringLiteral("'__metadata__' value '%1' is not a string").arg(it.key()));
        metadata.insert(it.key(), it.value().toString());
    }
    return metadata;
}

// Tensors sorted by offset must tile the data buffer exactly: no overlap, no gap, nothing past it.
void checkLayout(const SafetensorsHeader &header, const QString &source)
{
    qint64 cursor = 0;
    for (const TensorInfo &t : header.tensors) {
        if (t.begin < cursor)
            fail(source, QStringLiteral("tensor '%1' overlaps the tensor before it (offset %2 < %3)")
                             .arg(t.name).arg(t.begin).arg(cursor));
        if (t.begin > cursor)
            fail(source, QStringLiteral("gap of %1 bytes before tensor '%2'")
                             .arg(t.begin - cursor).arg(t.name));
        if (t.end > header.dataSize)
            fail(source, QStringLiteral("tensor '%1' ends at %2, past the data buffer of %3 bytes")
                             .arg(t.name).arg(t.end).arg(header.dataSize));
        cursor = t.end;
    }
    if (cursor != header.dataSize)
        fail(source, QStringLiteral("%1 trailing bytes after the last tensor")
                         .arg(header.dataSize - cursor));
}

QByteArray jsonString(const QString &text)
{
    // QJsonDocument escapes correctly; strip the surrounding array brackets.
    const QByteArray array = QJsonDocument(QJsonArray{text}).toJson(QJsonDocument::Compact);
    return array.mid(1, array.size() - 2);
}

} // namespace

const TensorInfo *SafetensorsHeader::find(const QString &name) const
{
    for (const TensorInfo &t : tensors) {
        if (t.name == name)
            return &t;
    }
    return nullptr;
}

SafetensorsHeader parseSafetensors(QByteArrayView file, const QString &source)
{
    if (file.size() < 8)
        fail(source, QStringLiteral("file is %1 bytes, shorter than the 8-byte header length")
                         .arg(file.size()));
    const quint64 headerLength = qFromLittleEndian<quint64>(file.data());
    if (headerLength > quint64(kMaxSafetensorsHeaderBytes))
        fail(source, QStringLiteral("header length %1 exceeds the limit of %2 bytes")
                         .arg(headerLength).arg(kMaxSafetensorsHeaderBytes));
    if (qint64(headerLength) > file.size() - 8)
        fail(source, QStringLiteral("header length %1 runs past the end of the %2-byte file "
                                    "(truncated?)").arg(headerLength).arg(file.size()));

    const QByteArray json = file.sliced(8, qint64(headerLength)).toByteArray();
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError)
        fail(source, QStringLiteral("header is not valid JSON: %1 at byte %2")
                         .arg(parseError.errorString()).arg(parseError.offset));
    if (!document.isObject())
        fail(source, QStringLiteral("header is not a JSON object"));

    SafetensorsHeader header;
    header.dataOffset = 8 + qint64(headerLength);
    header.dataSize = file.size() - header.dataOffset;
    const QJsonObject root = document.object();
    for (auto it = root.begin(); it != root.end(); ++it) {
        if (it.key() == QLatin1String("__metadata__"))
            header.metadata = parseMetadata(it.value(), source);
        else
            header.tensors.append(parseTensorEntry(it.key(), it.value(), source));
    }
    std::sort(header.tensors.begin(), header.tensors.end(),
              [](const TensorInfo &a, const TensorInfo &b) {
                  return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
              });
    checkLayout(header, source);
    return header;
}

SafetensorsFile::SafetensorsFile(const QString &path) : m_file(path)
{
    if (!m_file.open(openRegularFile(path), QIODevice::ReadOnly, QFileDevice::AutoCloseHandle))
        throw Error(QStringLiteral("%1: cannot open: %2").arg(path, m_file.errorString()));
    m_size = m_file.size();
    if (m_size > 0) {
        m_map = m_file.map(0, m_size);
        if (!m_map)
            throw Error(QStringLiteral("%1: cannot map: %2").arg(path, m_file.errorString()));
    }
    m_header = parseSafetensors(QByteArrayView(m_map, m_size), path);
}

SafetensorsFile::~SafetensorsFile() = default; // QFile unmaps on close

QByteArrayView SafetensorsFile::tensorData(const TensorInfo &tensor) const
{
    return QByteArrayView(m_map + m_header.dataOffset + tensor.begin, tensor.byteSize());
}

QByteArray safetensorsPrefix(const QVector<TensorView> &tensors,
                             const QMap<QString, QString> &metadata)
{
    QByteArray json = "{";
    if (!metadata.isEmpty()) {
        json += "\"__metadata__\":{";
        for (auto it = metadata.begin(); it != metadata.end(); ++it) {
            if (it != metadata.begin())
                json += ',';
            json += jsonString(it.key()) + ':' + jsonString(it.value());
        }
        json += '}';
    }
    qint64 offset = 0;
    for (const TensorView &t : tensors) {
        if (json.size() > 1)
            json += ',';
        QByteArray shape;
        for (qint64 d : t.shape)
            shape += (shape.isEmpty() ? "" : ",") + QByteArray::number(d);
        json += jsonString(t.name) + ":{\"dtype\":" + jsonString(dtypeName(t.dtype))
                + ",\"shape\":[" + shape + "],\"data_offsets\":[" + QByteArray::number(offset) + ','
                + QByteArray::number(offset + t.data.size()) + "]}";
        offset += t.data.size();
    }
    json += '}';
    while ((8 + json.size()) % 8 != 0)
        json += ' ';

    QByteArray prefix(8, '\0');
    qToLittleEndian<quint64>(quint64(json.size()), prefix.data());
    return prefix + json;
}

QByteArray serializeSafetensors(const QVector<TensorView> &tensors,
                                const QMap<QString, QString> &metadata)
{
    QByteArray out = safetensorsPrefix(tensors, metadata);
    for (const TensorView &t : tensors)
        out.append(t.data.data(), t.data.size());
    return out;
}

} // namespace surfing
