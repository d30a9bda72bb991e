// Writes a Hugging Face-layout model with random weights (fixed seed): for tests, benchmarks and
// the demo when no real model is at hand. Weights are streamed to disk, so any size works.
#pragma once

#include "format/modelconfig.h"

#include <QString>

namespace surfing {

struct RandomModelSpec {
    ModelFamily family = ModelFamily::Llama; // llama or bert
    int layers = 2;
    int hidden = 64;
    int intermediate = 172;
    int heads = 8;
    int kvHeads = 4;          // llama only
    int vocab = 512;
    int maxPositions = 512;
    bool tiedEmbeddings = true; // llama only
    // llama only: experts > 0 makes a Qwen3-MoE model (model_type qwen3_moe): every layer's MLP
    // is `experts` SwiGLU experts of `moeIntermediate`, `expertsPerToken` of them per token.
    int experts = 0;
    int expertsPerToken = 2;
    int moeIntermediate = 64;
    quint64 seed = 1;
};

// Creates DIR/config.json and DIR/model.safetensors. Throws surfing::Error.
void writeRandomModel(const RandomModelSpec &spec, const QString &dir);

// Size in bytes of the model's float32 weights.
qint64 randomModelBytes(const RandomModelSpec &spec);

} // namespace surfing
