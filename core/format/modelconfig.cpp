#include "format/modelconfig.h"

#include "base/error.h"
#include "base/files.h"

#include <QFile>
#include <QJsonDocument>
#include <QStringList>

namespace surfing {
namespace {

struct KnownType {
    const char *modelType;
    ModelFamily family;
};

// llama-style variants share RMSNorm, RoPE, SwiGLU and GQA with identical tensor names; Qwen2
// adds q/k/v biases, Qwen3 q/k norms, Qwen3-MoE experts (inference/llamamodel.h).
constexpr KnownType kKnownTypes[] = {
    {"bert", ModelFamily::Bert},    {"gpt2", ModelFamily::Gpt2},         {"llama", ModelFamily::Llama},
    {"mistral", ModelFamily::Llama}, {"qwen2", ModelFamily::Llama},      {"qwen3", ModelFamily::Llama},
    {"qwen3_moe", ModelFamily::Llama}, {"t5", ModelFamily::T5},
};

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
    switch (family) {
    case ModelFamily::Bert: return QStringLiteral("bert");
    case ModelFamily::Gpt2: return QStringLiteral("gpt2");
    case ModelFamily::Llama: return QStringLiteral("llama");
    case ModelFamily::T5: return QStringLiteral("t5");
    }
    return {};
}

QString supportedModelTypes()
{
    QStringList names;
    for (const KnownType &t : kKnownTypes)
        names << QLatin1String(t.modelType);
    return names.join(QLatin1String(", "));
}

std::optional<ModelFamily> familyOfModelType(const QString &modelType)
{
    for (const KnownType &t : kKnownTypes) {
        if (modelType == QLatin1String(t.modelType))
            return t.family;
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

    switch (config.family) {
    case ModelFamily::Gpt2:
        config.numLayers = requireInt(json, {QStringLiteral("n_layer"), QStringLiteral("num_hidden_layers")}, source);
        break;
    case ModelFamily::T5:
        config.numLayers = requireInt(json, {QStringLiteral("num_layers")}, source);
        config.numDecoderLayers = json.contains(QLatin1String("num_decoder_layers"))
                                      ? requireInt(json, {QStringLiteral("num_decoder_layers")}, source)
                                      : config.numLayers;
        break;
    default:
        config.numLayers = requireInt(json, {QStringLiteral("num_hidden_layers")}, source);
    }
    // Hugging Face defaults: tied for BERT, GPT-2 and T5; untied for LLaMA.
    const bool tiedByDefault = config.family != ModelFamily::Llama;
    config.tieWordEmbeddings = json.value(QLatin1String("tie_word_embeddings")).toBool(tiedByDefault);
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
