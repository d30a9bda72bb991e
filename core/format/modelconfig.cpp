#include "format/modelconfig.h"

#include "base/error.h"
#include "base/files.h"
#include "inference/architectures.h"

#include <QFile>
#include <QJsonDocument>
#include <QStringList>

namespace surfing {
namespace {

int requireInt(const QJsonObject &json, const QStringList &keys, const QString &source)
{
    for (const QString &key : keys) {
        const QJsonValue v = json.value(key);
        if (v.isDouble() && v.toDouble() >= 0 && v.toDouble() <= 100000)
            return v.toInt();
        if (!v.isUndefined())
            throw Error(QStringLiteral("%1: field '%2' must be a non-negative integer").arg(source, key));
    }
    throw Error(QStringLiteral("%1: missing field '%2'").arg(source, keys.first()));
}

} // namespace

QString familyName(ModelFamily family)
{
    return architectureOf(family).name;
}

QString supportedModelTypes()
{
    QStringList names;
    for (const Architecture &a : architectures())
        names << a.modelTypes;
    names.sort();
    return names.join(QLatin1String(", "));
}

std::optional<ModelFamily> familyOfModelType(const QString &modelType)
{
    for (const Architecture &a : architectures()) {
        if (a.modelTypes.contains(modelType))
            return a.family;
    }
    return std::nullopt;
}

ModelConfig ModelConfig::fromJson(const QJsonObject &json, const QString &source)
{
    ModelConfig config;
    config.json = json;
    config.modelType = json.value(QLatin1String("model_type")).toString();
    if (config.modelType.isEmpty())
        throw Error(QStringLiteral("%1: missing field 'model_type' (supported: %2)")
                        .arg(source, supportedModelTypes()));
    const auto family = familyOfModelType(config.modelType);
    if (!family)
        throw Error(QStringLiteral("%1: model_type '%2' is not supported (supported: %3)")
                        .arg(source, config.modelType, supportedModelTypes()));
    config.family = *family;

    const Architecture &architecture = architectureOf(config.family);
    config.numLayers = requireInt(json, architecture.layerKeys, source);
    if (config.family == ModelFamily::T5)
        config.numDecoderLayers = json.contains(QLatin1String("num_decoder_layers"))
                                      ? requireInt(json, {QStringLiteral("num_decoder_layers")}, source)
                                      : config.numLayers;
    config.tieWordEmbeddings = json.value(QLatin1String("tie_word_embeddings")).toBool(architecture.tiedByDefault);
    return config;
}

ModelConfig ModelConfig::load(const QString &modelDir)
{
    const QString path = modelDir + QStringLiteral("/config.json");
    if (!pathEntryExists(path))
        throw Error(QStringLiteral("%1: missing; a Hugging Face model directory needs config.json").arg(path));
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(readRegularFile(path, 16 * 1024 * 1024), &parseError);
    if (parseError.error != QJsonParseError::NoError || !document.isObject())
        throw Error(QStringLiteral("%1: not a JSON object: %2").arg(path, parseError.errorString()));
    return fromJson(document.object(), path);
}

} // namespace surfing
