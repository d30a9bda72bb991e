// T5 behind InferenceSession: prompt ids through the encoder, then generation (greedy or sampled,
// KV cache) with one callback per new token. Internal to core/inference (includes libtorch).
#pragma once

#include "inference/inferenceoptions.h"
#include "inference/t5model.h"

#include <QVector>
#include <functional>
#include <map>

namespace surfing {

struct T5SessionRun {
    QVector<qint64> newIds;                // EOS included when it ended the run
    int decoderSteps = 0;
    std::map<QString, at::Tensor> tensors; // keepTensors: encoder_last_hidden_state, logits
};

// `onToken` gets every new id; returning false stops after it. Throws surfing::Error.
T5SessionRun runT5Session(T5Model &model, const QVector<qint64> &promptIds,
                          const InferenceOptions &options, const std::function<bool(qint64)> &onToken);

} // namespace surfing
