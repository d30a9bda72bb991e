// What config.json says about a model: its architecture family and layer counts.
#pragma once

#include <QJsonObject>
#include <QString>
#include <optional>

namespace surfing {

enum class ModelFamily { Bert, Gpt2, Llama, T5 };

struct ModelConfig {
    ModelFamily family = ModelFamily::Bert;
    QString modelType;          // config.json's model_type as written ("llama", "mistral", ...)
    int numLayers = 0;          // transformer blocks (T5: encoder blocks)
    int numDecoderLayers = 0;   // T5 only
    bool tieWordEmbeddings = true;
    QJsonObject json;           // the whole config, for the inference code

    // Reads MODEL_DIR/config.json. Throws surfing::Error naming the file and field.
    static ModelConfig load(const QString &modelDir);
    static ModelConfig fromJson(const QJsonObject &json, const QString &source);
};

QString familyName(ModelFamily family);      // "bert", "gpt2", "llama", "t5"
QString supportedModelTypes();               // for error messages
std::optional<ModelFamily> familyOfModelType(const QString &modelType);

} // namespace surfing
