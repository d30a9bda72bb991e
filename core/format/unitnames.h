// Names of the streaming units (chunks) that the chunk planner writes and the models ask for.
// Torch-free: the chunker and the inference code share these.
#pragma once

#include <QString>

namespace surfing::unitnames {

// "layer_3": one decoder layer of the LLaMA family (attention, norms, dense MLP or MoE router).
QString layer(int layer);
// "layer_3_expert_5": one expert of a mixture-of-experts layer, its own unit so that a client
// fetches only the experts the router picks. Kind "layer_3_expert", index 5.
QString expert(int layer, int expert);
QString expertKind(int layer);
// "layer_3_expert_" : what every expert unit of that layer starts with.
QString expertPrefix(int layer);
// True for expert unit names ("layer_3_expert_5"), for stats and the timeline.
bool isExpert(const QString &unit);

} // namespace surfing::unitnames
