// The numbers of a T5 model that its arithmetic depends on, read from config.json. Torch-free.
#pragma once

#include <QJsonObject>
#include <QString>
#include <cstdint>

namespace surfing {

struct T5Config {
    enum class Activation { Relu, GeluNew, Gelu };

    int vocabSize = 0;
    int dModel = 0;
    int dKv = 0;
    int dFf = 0;
    int numHeads = 0;
    int numLayers = 0;         // encoder blocks
    int numDecoderLayers = 0;
    int numBuckets = 32;       // relative_attention_num_buckets
    int maxDistance = 128;     // relative_attention_max_distance
    double layerNormEps = 1e-6;
    bool gated = false;        // v1.1 "gated-gelu": wo(act(wi_0 x) * wi_1 x)
    Activation activation = Activation::Relu;
    bool tieWordEmbeddings = true; // tied: logits = (h * d_model^-0.5) @ shared^T
    int64_t decoderStartTokenId = 0;
    int64_t eosTokenId = 1;
    int64_t padTokenId = 0;

    int innerDim() const { return numHeads * dKv; }

    // Throws surfing::Error naming `source` and the field at fault.
    static T5Config fromJson(const QJsonObject &json, const QString &source);
};

} // namespace surfing
