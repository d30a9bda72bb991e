// A causal language model run layer by layer from a WeightStream (GPT-2, LLaMA family).
// Internal to core/inference (libtorch); the GUI-facing API is InferenceSession.
#pragma once

#include "format/modelconfig.h"
#include "inference/kvcache.h"

#include <ATen/ATen.h>
#include <QStringList>
#include <memory>
#include <optional>
#include <vector>

namespace surfing {

class WeightStream;

struct DecoderInput {
    at::Tensor ids;       // [B, T] int64
    at::Tensor positions; // [B, T] int64 position ids (0.. for each row's real tokens)
    at::Tensor keyMask;   // [B, cached + T] bool: true for real tokens, false for padding
};

struct DecoderOutput {
    at::Tensor logits;    // [B, T, vocab], or [B, 1, vocab] with lastLogitsOnly
    at::Tensor hidden;    // [B, T, hidden] after the final norm
    // With collectHidden: the embeddings, then every layer's output (the last one before the
    // final norm): numLayers() + 1 tensors.
    std::vector<at::Tensor> hiddenStates;
};

struct ForwardOptions {
    bool collectHidden = false;
    bool lastLogitsOnly = false; // generation needs only the next-token logits
};

class DecoderModel
{
public:
    virtual ~DecoderModel() = default;

    virtual int numLayers() const = 0;
    virtual int64_t vocabSize() const = 0;
    virtual std::optional<int64_t> eosId() const;
    virtual std::optional<int64_t> bosId() const;
    // Every chunk one forward pass reads, in the order it reads them.
    virtual QStringList unitOrder() const = 0;
    // One forward pass over `input`, appending to `cache` when given (may be null).
    virtual DecoderOutput forward(WeightStream &stream, const DecoderInput &input, KVCache *cache,
                                  const ForwardOptions &options) = 0;

    // Plain input for one unpadded batch: positions continue after `cache`.
    static DecoderInput inputFor(const at::Tensor &ids, const KVCache *cache);

protected:
    explicit DecoderModel(const ModelConfig &config) : m_config(config) {}
    ModelConfig m_config;
};

// The decoder-only model of config.json's family (the table in modelrunner.cpp); throws
// surfing::Error for other families.
std::unique_ptr<DecoderModel> makeDecoderModel(const ModelConfig &config);

} // namespace surfing
