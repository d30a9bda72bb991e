#include "format/chunkmanifest.h"

#include "base/error.h"
#include "base/files.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>
#include <algorithm>

namespace surfing {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;
constexpr qint64 kMaxManifestBytes = 64 * 1024 * 1024;
// Far above any model (one unit per expert of the largest mixtures is some 25,000 chunks).
constexpr qsizetype kMaxManifestChunks = 100000;

double megabytes(qint64 bytes)
{
    return qRound64(bytes / kMiB * 1000.0) / 1000.0;
}

QJsonArray shapeJson(const QVector<qint64> &shape)
{
    QJsonArray array;
    for (qint64 d : shape)
        array.append(d);
    return array;
}

QJsonObject chunkJson(const ManifestChunk &chunk)
{
    QJsonArray tensors;
    for (const ManifestTensor &t : chunk.tensors)
        tensors.append(QJsonObject{{"name", t.name}, {"dtype", dtypeName(t.dtype)},
                                   {"shape", shapeJson(t.shape)}, {"source", t.source}});
    return QJsonObject{{"file", chunk.file},
                       {"size_mb", megabytes(chunk.storedBytes)},
                       {"kind", chunk.kind},
                       {"index", chunk.index < 0 ? QJsonValue() : QJsonValue(chunk.index)},
                       {"codec", codecName(chunk.codec)},
                       {"stored_bytes", chunk.storedBytes},
                       {"raw_bytes", chunk.rawBytes},
                       {"sha256", QString::fromLatin1(chunk.sha256)},
                       {"tensors", tensors}};
}

QJsonArray filesJson(const QVector<ManifestFile> &files)
{
    QJsonArray array;
    for (const ManifestFile &f : files)
        array.append(QJsonObject{{"name", f.name}, {"bytes", f.bytes}, {"sha256", QString::fromLatin1(f.sha256)}});
    return array;
}

bool isSha256Hex(const QByteArray &hex)
{
    return hex.size() == 64 && QByteArray::fromHex(hex).toHex() == hex;
}

// Field readers that name what is wrong.
class Reader
{
public:
    explicit Reader(const QString &source) : m_source(source) {}

    [[noreturn]] void fail(const QString &field, const QString &what) const
    {
        throw Error(QStringLiteral("%1: field '%2' %3").arg(m_source, field, what));
    }
    QString string(const QJsonObject &o, const QString &key, const QString &where) const
    {
        const QJsonValue v = o.value(key);
        if (!v.isString())
            fail(where + key, QStringLiteral("must be a string"));
        return v.toString();
    }
    qint64 integer(const QJsonObject &o, const QString &key, const QString &where, qint64 max) const
    {
        return integer(o.value(key), where + key, max);
    }
    qint64 integer(const QJsonValue &v, const QString &field, qint64 max) const
    {
        const double d = v.toDouble(-1);
        if (!v.isDouble() || d < 0 || d > double(max) || qint64(d) != d)
            fail(field, QStringLiteral("must be an integer between 0 and %1").arg(max));
        return qint64(d);
    }
    QString safeName(const QJsonObject &o, const QString &key, const QString &where) const
    {
        const QString name = string(o, key, where);
        if (!isSafeName(name))
            fail(where + key, QStringLiteral("is not a plain file name: '%1'").arg(name.left(80)));
        return name;
    }

private:
    QString m_source;
};

ManifestChunk parseChunk(const QString &name, const QJsonValue &value, const Reader &r)
{
    const QString where = QStringLiteral("chunks.%1.").arg(name);
    if (!value.isObject())
        r.fail(QStringLiteral("chunks.") + name, QStringLiteral("must be an object"));
    const QJsonObject o = value.toObject();
    ManifestChunk chunk;
    chunk.name = name;
    chunk.file = r.safeName(o, QStringLiteral("file"), where);
    chunk.kind = r.string(o, QStringLiteral("kind"), where);
    chunk.index = o.value(QLatin1String("index")).isNull()
                      ? -1 : int(r.integer(o, QStringLiteral("index"), where, 1000000));
    const auto codec = codecFromName(r.string(o, QStringLiteral("codec"), where));
    if (!codec)
        r.fail(where + QStringLiteral("codec"), QStringLiteral("must be 'none' or 'zstd-bytegroup'"));
    chunk.codec = *codec;
    constexpr qint64 kMaxChunk = qint64(1) << 40;
    chunk.storedBytes = r.integer(o, QStringLiteral("stored_bytes"), where, kMaxChunk);
    chunk.rawBytes = r.integer(o, QStringLiteral("raw_bytes"), where, kMaxChunk);
    chunk.sha256 = r.string(o, QStringLiteral("sha256"), where).toLatin1();
    if (!isSha256Hex(chunk.sha256))
        r.fail(where + QStringLiteral("sha256"), QStringLiteral("must be 64 lower-case hex digits"));
    for (const QJsonValue &tv : o.value(QLatin1String("tensors")).toArray()) {
        const QJsonObject t = tv.toObject();
        ManifestTensor tensor;
        tensor.name = r.string(t, QStringLiteral("name"), where + QStringLiteral("tensors[]."));
        const auto dtype = dtypeFromName(r.string(t, QStringLiteral("dtype"), where + QStringLiteral("tensors[].")));
        if (!dtype)
            r.fail(where + QStringLiteral("tensors[].dtype"), QStringLiteral("is not a known dtype"));
        tensor.dtype = *dtype;
        for (const QJsonValue &d : t.value(QLatin1String("shape")).toArray())
            tensor.shape.append(r.integer(d, where + QStringLiteral("tensors[].shape[]"), kMaxChunk));
        tensor.source = t.value(QLatin1String("source")).toString();
        chunk.tensors.append(tensor);
    }
    return chunk;
}

// Format 1 lists names only; format 2 names, sizes and hashes.
QVector<ManifestFile> parseFiles(const QJsonValue &value, qint64 version, const Reader &r)
{
    QVector<ManifestFile> files;
    const QJsonArray array = value.toArray();
    for (int i = 0; i < array.size(); ++i) {
        const QString where = QStringLiteral("files[%1].").arg(i);
        ManifestFile file;
        if (version == 1) {
            file.name = array.at(i).toString();
            if (!isSafeName(file.name))
                r.fail(QStringLiteral("files"), QStringLiteral("lists '%1', not a plain file name").arg(file.name.left(80)));
        } else {
            const QJsonObject o = array.at(i).toObject();
            file.name = r.safeName(o, QStringLiteral("name"), where);
            file.bytes = r.integer(o, QStringLiteral("bytes"), where, qint64(1) << 40);
            file.sha256 = r.string(o, QStringLiteral("sha256"), where).toLatin1();
            if (!isSha256Hex(file.sha256))
                r.fail(where + QStringLiteral("sha256"), QStringLiteral("must be 64 lower-case hex digits"));
        }
        if (std::any_of(files.begin(), files.end(), [&](const ManifestFile &f) { return f.name == file.name; }))
            r.fail(QStringLiteral("files"), QStringLiteral("lists '%1' twice").arg(file.name));
        files.append(file);
    }
    return files;
}

} // namespace

bool isSafeName(const QString &name)
{
    if (name.isEmpty() || name.size() > 255 || name.contains(QLatin1String("..")) || name.startsWith(QLatin1Char('.')))
        return false;
    for (QChar c : name) {
        const bool ok = (c >= QLatin1Char('a') && c <= QLatin1Char('z')) || (c >= QLatin1Char('A') && c <= QLatin1Char('Z'))
                        || (c >= QLatin1Char('0') && c <= QLatin1Char('9')) || c == QLatin1Char('_')
                        || c == QLatin1Char('-') || c == QLatin1Char('.');
        if (!ok)
            return false;
    }
    return true;
}

const ManifestChunk *ChunkManifest::find(const QString &name) const
{
    for (const ManifestChunk &c : chunks) {
        if (c.name == name)
            return &c;
    }
    return nullptr;
}

const ManifestChunk *ChunkManifest::find(const QString &kind, int index) const
{
    for (const ManifestChunk &c : chunks) {
        if (c.kind == kind && c.index == index)
            return &c;
    }
    return nullptr;
}

const ManifestFile *ChunkManifest::findFile(const QString &name) const
{
    for (const ManifestFile &f : files) {
        if (f.name == name)
            return &f;
    }
    return nullptr;
}

QStringList ChunkManifest::fileNames() const
{
    QStringList names;
    for (const ManifestFile &f : files)
        names << f.name;
    return names;
}

qint64 ChunkManifest::totalStoredBytes() const
{
    qint64 total = 0;
    for (const ManifestChunk &c : chunks)
        total += c.storedBytes;
    return total;
}

qint64 ChunkManifest::totalRawBytes() const
{
    qint64 total = 0;
    for (const ManifestChunk &c : chunks)
        total += c.rawBytes;
    return total;
}

QByteArray ChunkManifest::toJson() const
{
    QJsonObject chunkObjects;
    QJsonArray order;
    for (const ManifestChunk &c : chunks) {
        chunkObjects.insert(c.name, chunkJson(c));
        order.append(c.name);
    }
    QJsonObject root{{"format", QLatin1String(kChunkFormatName)},
                     {"format_version", kChunkFormatVersion},
                     {"model_name", modelName},
                     {"model_type", modelType},
                     {"family", familyName(family)},
                     {"num_layers", numLayers},
                     {"dtype", dtype},
                     {"codec", codecName(codec)},
                     {"level", level},
                     {"created_by", createdBy},
                     {"order", order},
                     {"chunks", chunkObjects},
                     {"total_size_mb", megabytes(totalStoredBytes())},
                     {"files", filesJson(files)}};
    if (family == ModelFamily::T5)
        root.insert(QStringLiteral("num_decoder_layers"), numDecoderLayers);
    return QJsonDocument(root).toJson(QJsonDocument::Indented);
}

ChunkManifest ChunkManifest::fromJson(const QByteArray &json, const QString &source)
{
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError || !document.isObject())
        throw Error(QStringLiteral("%1: not a JSON object: %2").arg(source, parseError.errorString()));
    const QJsonObject root = document.object();
    const Reader r(source);
    if (r.string(root, QStringLiteral("format"), {}) != QLatin1String(kChunkFormatName))
        r.fail(QStringLiteral("format"), QStringLiteral("must be '%1'").arg(QLatin1String(kChunkFormatName)));
    const qint64 version = r.integer(root, QStringLiteral("format_version"), {}, 1000);
    if (version < kOldestChunkFormatVersion || version > kChunkFormatVersion)
        r.fail(QStringLiteral("format_version"), QStringLiteral("is %1; this build reads versions %2 to %3")
                                                     .arg(version).arg(kOldestChunkFormatVersion).arg(kChunkFormatVersion));
    ChunkManifest m;
    m.modelName = r.string(root, QStringLiteral("model_name"), {});
    m.modelType = r.string(root, QStringLiteral("model_type"), {});
    const auto family = familyOfModelType(m.modelType);
    if (!family)
        r.fail(QStringLiteral("model_type"), QStringLiteral("'%1' is not supported (supported: %2)")
                                                 .arg(m.modelType, supportedModelTypes()));
    m.family = *family;
    m.numLayers = int(r.integer(root, QStringLiteral("num_layers"), {}, 100000));
    if (m.family == ModelFamily::T5)
        m.numDecoderLayers = int(r.integer(root, QStringLiteral("num_decoder_layers"), {}, 100000));
    m.dtype = root.value(QLatin1String("dtype")).toString(QStringLiteral("original"));
    m.codec = codecFromName(root.value(QLatin1String("codec")).toString()).value_or(ChunkCodec::None);
    m.level = root.value(QLatin1String("level")).toInt();
    m.createdBy = root.value(QLatin1String("created_by")).toString();
    m.files = parseFiles(root.value(QLatin1String("files")), version, r);
    const QJsonObject chunkObjects = root.value(QLatin1String("chunks")).toObject();
    const QJsonArray order = root.value(QLatin1String("order")).toArray();
    if (order.size() > kMaxManifestChunks)
        r.fail(QStringLiteral("order"), QStringLiteral("lists %1 chunks, more than the %2 this build reads")
                                            .arg(order.size()).arg(kMaxManifestChunks));
    if (order.size() != chunkObjects.size())
        r.fail(QStringLiteral("order"), QStringLiteral("must list every chunk exactly once"));
    QSet<QString> seen;
    for (const QJsonValue &nameValue : order) {
        const QString name = nameValue.toString();
        if (!isSafeName(name) || !chunkObjects.contains(name) || seen.contains(name))
            r.fail(QStringLiteral("order"), QStringLiteral("names '%1', which is not a chunk (or twice)").arg(name.left(80)));
        seen.insert(name);
        m.chunks.append(parseChunk(name, chunkObjects.value(name), r));
    }
    return m;
}

ChunkManifest ChunkManifest::load(const QString &chunkDir)
{
    const QString path = chunkDir + QLatin1Char('/') + QLatin1String(kManifestFileName);
    if (!pathEntryExists(path))
        throw Error(QStringLiteral("%1: cannot read (is %2 a chunk directory made by 'surfing-cli chunk'?)")
                        .arg(path, chunkDir));
    return fromJson(readRegularFile(path, kMaxManifestBytes), path);
}

} // namespace surfing
