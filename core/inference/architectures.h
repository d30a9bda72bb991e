// The one table of model architectures, shared by config.json parsing (ModelConfig), the chunk
// planner and the models: which config.json model_types make up a family, where config.json
// keeps the layer count, and which streaming unit (chunk) every checkpoint tensor belongs to.
// Torch-free: compiled into surfing_core with the chunker (see core/CMakeLists.txt); the
// runners that compute each family are in modelrunner.cpp. docs/adding-a-family.md tells how
// to add one.
#pragma once

#include "format/modelconfig.h"

#include <QString>
#include <QStringList>
#include <QVector>

namespace surfing {

// One naming rule: a checkpoint-name pattern whose last capture is the key inside the chunk and,
// for numbered units, whose first capture is the layer index.
struct UnitRule {
    const char *pattern;
    const char *kind;
    bool numbered;
    const char *aliasOf = nullptr; // tied copy of this tensor (stored once)
    // Captures (layer, expert, key): one unit per expert, layer_N_expert_E, right after layer_N.
    bool expert = false;
};

struct Architecture {
    ModelFamily family;
    QString name;               // the family's name in chunk_info.json ("llama")
    QStringList modelTypes;     // config.json model_type values of this family
    QStringList layerKeys;      // config.json fields with the number of layers (first found)
    bool tiedByDefault;         // Hugging Face's default for tie_word_embeddings
    QString stripPrefix;        // optional prefix of task-head checkpoints ("bert.", "transformer.")
    QVector<UnitRule> rules;    // first match wins
    QStringList order;          // unit kinds in execution order
};

const QVector<Architecture> &architectures();
const Architecture &architectureOf(ModelFamily family);

// Unit names the LLaMA-family models ask for; the planner's rules produce the same ones.
namespace unitnames {

// "layer_3": one decoder layer (attention, norms, dense MLP or MoE router).
QString layer(int layer);
// "layer_3_expert_5": one expert of a mixture-of-experts layer, its own unit so that a client
// fetches only the experts the router picks. Kind "layer_3_expert", index 5.
QString expert(int layer, int expert);
QString expertKind(int layer);
// "layer_3_expert_": what every expert unit of that layer starts with.
QString expertPrefix(int layer);
// True for expert unit names ("layer_3_expert_5"), for stats and the timeline.
bool isExpert(const QString &unit);

} // namespace unitnames

} // namespace surfing
