#include "format/checkpoint.h"

#include "base/error.h"
#include "base/files.h"
#include "format/safetensors.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <algorithm>
#include <atomic>

namespace surfing {
namespace {

QJsonObject readIndex(const QString &indexFile)
{
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(readRegularFile(indexFile, 64 * 1024 * 1024), &parseError);
    if (parseError.error != QJsonParseError::NoError || !document.isObject())
        throw Error(QStringLiteral("%1: not a JSON object: %2").arg(indexFile, parseError.errorString()));
    const QJsonValue weightMap = document.object().value(QLatin1String("weight_map"));
    if (!weightMap.isObject())
        throw Error(QStringLiteral("%1: missing object 'weight_map'").arg(indexFile));
    return weightMap.toObject();
}

bool isPlainFileName(const QString &name)
{
    return !name.isEmpty() && !name.contains(QLatin1Char('/')) && !name.contains(QLatin1Char('\\'))
           && name != QLatin1String("..") && name != QLatin1String(".") && !name.contains(QChar(0));
}

std::atomic<TorchBinReader> torchBinReader{nullptr};

} // namespace

void setTorchBinReader(TorchBinReader reader)
{
    torchBinReader = reader;
}

Checkpoint::~Checkpoint() = default;

std::unique_ptr<Checkpoint> Checkpoint::open(const QString &path)
{
    std::unique_ptr<Checkpoint> checkpoint(new Checkpoint);
    const QFileInfo info(path);
    if (!info.exists())
        throw Error(QStringLiteral("%1: no such file or directory").arg(path));

    if (info.isFile()) {
        if (path.endsWith(QLatin1String(".bin")))
            checkpoint->openTorchBin(path);
        else
            checkpoint->openSafetensors(path);
        return checkpoint;
    }

    const QDir dir(path);
    if (dir.exists(QStringLiteral("model.safetensors"))) {
        checkpoint->openSafetensors(dir.filePath(QStringLiteral("model.safetensors")));
    } else if (dir.exists(QStringLiteral("model.safetensors.index.json"))) {
        checkpoint->openShardIndex(dir.filePath(QStringLiteral("model.safetensors.index.json")));
    } else if (dir.exists(QStringLiteral("pytorch_model.bin"))) {
        checkpoint->openTorchBin(dir.filePath(QStringLiteral("pytorch_model.bin")));
    } else {
        throw Error(QStringLiteral("%1: no weights found; expected model.safetensors, "
                                   "model.safetensors.index.json or pytorch_model.bin").arg(path));
    }
    return checkpoint;
}

void Checkpoint::openSafetensors(const QString &file)
{
    auto safetensors = std::make_shared<SafetensorsFile>(file);
    for (const TensorInfo &t : safetensors->header().tensors)
        addTensor(t, safetensors->tensorData(t), file, safetensors->fileOffset(t));
    m_layout = QStringLiteral("safetensors");
    m_sourceFiles << file;
    keepAlive(safetensors);
}

void Checkpoint::openTorchBin(const QString &file)
{
    requireRegularFile(file);
    const TorchBinReader reader = torchBinReader.load();
    if (!reader)
        throw TorchBinReaderMissing(QStringLiteral("%1: pytorch_model.bin is read through libtorch, "
                                                   "which this program does not load; convert the model "
                                                   "to safetensors or use surfing-cli").arg(file));
    reader(file, *this);
    m_layout = QStringLiteral("pytorch .bin");
    m_sourceFiles << file;
}

void Checkpoint::openShardIndex(const QString &indexFile)
{
    const QJsonObject weightMap = readIndex(indexFile);
    QHash<QString, QStringList> tensorsByShard;
    for (auto it = weightMap.begin(); it != weightMap.end(); ++it) {
        const QString shard = it.value().toString();
        if (!isPlainFileName(shard))
            throw Error(QStringLiteral("%1: weight_map entry '%2' names '%3', which is not a plain "
                                       "file name in the model directory").arg(indexFile, it.key(), shard));
        tensorsByShard[shard] << it.key();
    }
    const QDir dir = QFileInfo(indexFile).dir();
    QStringList shards = tensorsByShard.keys();
    std::sort(shards.begin(), shards.end());
    for (const QString &shard : shards) {
        const QString shardPath = dir.filePath(shard);
        auto file = std::make_shared<SafetensorsFile>(shardPath);
        QStringList expected = tensorsByShard.value(shard);
        QStringList present;
        for (const TensorInfo &t : file->header().tensors)
            present << t.name;
        std::sort(expected.begin(), expected.end());
        std::sort(present.begin(), present.end());
        if (expected != present)
            throw Error(QStringLiteral("%1: holds tensors that do not match %2's weight_map for it")
                            .arg(shardPath, indexFile));
        for (const TensorInfo &t : file->header().tensors)
            addTensor(t, file->tensorData(t), shardPath, file->fileOffset(t));
        m_sourceFiles << shardPath;
        keepAlive(file);
    }
    m_layout = QStringLiteral("sharded safetensors");
    m_sourceFiles.prepend(indexFile);
}

void Checkpoint::addTensor(const TensorInfo &info, QByteArrayView data, const QString &source, qint64 fileOffset)
{
    if (m_tensors.contains(info.name))
        throw Error(QStringLiteral("%1: tensor '%2' appears twice").arg(source, info.name));
    m_tensors.insert(info.name, Entry{info, data, {source, fileOffset}});
}

QStringList Checkpoint::tensorNames() const
{
    QStringList names = m_tensors.keys();
    std::sort(names.begin(), names.end());
    return names;
}

qint64 Checkpoint::totalBytes() const
{
    qint64 total = 0;
    for (const Entry &e : m_tensors)
        total += e.info.byteSize();
    return total;
}

} // namespace surfing
