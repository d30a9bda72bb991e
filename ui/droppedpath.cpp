#include "droppedpath.h"

#include "base/error.h"
#include "format/chunkmanifest.h"
#include "format/hubcache.h"
#include "format/modelconfig.h"

#include <QDir>
#include <QFileInfo>
#include <QMimeData>
#include <QUrl>

namespace surfing::ui {

namespace {

bool isWeightFile(const QFileInfo &info)
{
    const QString name = info.fileName();
    return name.endsWith(QLatin1String(".safetensors")) || name.endsWith(QLatin1String(".bin"))
        || name.endsWith(QLatin1String(".safetensors.index.json")) || name.endsWith(QLatin1String(".bin.index.json"));
}

bool hasWeights(const QDir &dir)
{
    const QStringList found = dir.entryList({QStringLiteral("*.safetensors"), QStringLiteral("*.bin")}, QDir::Files);
    return !found.isEmpty();
}

const QString kAccepted = QStringLiteral(
    "Drop a Hugging Face model folder (config.json with *.safetensors or *.bin weights), one of its "
    "files, or a chunk folder (chunk_info.json).");

} // namespace

DroppedPath classifyPath(const QString &pathOrHubName)
{
    // A cached hub name (command line) or a dropped models--ORG--NAME folder means its snapshot.
    const QString path = resolveModelLocation(pathOrHubName);
    const QFileInfo info(path);
    if (!info.exists())
        throw Error(QStringLiteral("%1 does not exist.").arg(path));
    QDir dir = info.isDir() ? QDir(info.absoluteFilePath()) : info.absoluteDir();
    if (!info.isDir()) {
        const QString name = info.fileName();
        const bool belongs = name == QLatin1String("config.json") || name == QLatin1String(kManifestFileName)
            || isWeightFile(info) || name.startsWith(QLatin1String("tokenizer"));
        if (!belongs)
            throw Error(QStringLiteral("%1 is not a model: %2").arg(QDir::toNativeSeparators(path), kAccepted));
    }
    if (dir.exists(QLatin1String(kManifestFileName))) {
        ChunkManifest::load(dir.absolutePath()); // throws naming the field at fault
        return {DroppedPath::Kind::ChunkDir, dir.absolutePath()};
    }
    if (!dir.exists(QStringLiteral("config.json")))
        throw Error(QStringLiteral("%1 is not a model: there is no config.json in %2. %3")
                        .arg(QDir::toNativeSeparators(path), QDir::toNativeSeparators(dir.absolutePath()), kAccepted));
    ModelConfig::load(dir.absolutePath()); // throws naming the field at fault
    if (!hasWeights(dir))
        throw Error(QStringLiteral("%1 has a config.json but no *.safetensors or *.bin weights.")
                        .arg(QDir::toNativeSeparators(dir.absolutePath())));
    return {DroppedPath::Kind::Model, dir.absolutePath()};
}

QString localPathFromMime(const QMimeData *mime)
{
    if (!mime || !mime->hasUrls())
        return {};
    for (const QUrl &url : mime->urls()) {
        if (url.isLocalFile())
            return url.toLocalFile();
    }
    return {};
}

} // namespace surfing::ui
