// Decides which streaming unit (chunk) every tensor of a checkpoint belongs to, by the rules of
// the architecture table (inference/architectures.h): the unit names of the original Surfing
// Weights tool (BERT embeddings/layer_N/pooler, GPT-2 wte/wpe/block_N/ln_f, LLaMA embed_tokens/
// layer_N[/layer_N_expert_E]/norm/lm_head, T5 shared_embeddings/encoder_block_N/...).
#pragma once

#include "format/modelconfig.h"

#include <QString>
#include <QStringList>
#include <QVector>

namespace surfing {

class Checkpoint;

struct PlannedTensor {
    QString source; // name in the checkpoint ("encoder.layer.3.attention.self.query.weight")
    QString key;    // name inside the chunk ("attention.self.query.weight")
};

struct PlannedChunk {
    QString name;   // "layer_3"
    QString kind;   // "layer": the name without its index, for (type, id) addressing
    int index = -1; // 3, or -1 for units that are not numbered
    QVector<PlannedTensor> tensors; // in the order a step reads them (decoder layers), else by key
};

struct ChunkPlan {
    QVector<PlannedChunk> chunks;   // in execution order
    QStringList tiedAliases;        // checkpoint tensors dropped because they repeat a tied weight
};

// Throws surfing::Error naming any tensor that no unit claims, a layer index beyond the config,
// or a layer with no tensors.
ChunkPlan planChunks(const ModelConfig &config, const Checkpoint &checkpoint);

// "layer_3" -> ("layer", 3); "embeddings" -> ("embeddings", -1).
QPair<QString, int> splitChunkName(const QString &name);

} // namespace surfing
