// The arithmetic of T5 (transformers' modeling_t5, eval mode), as free functions over float32
// tensors: RMS layer norm, relative position buckets and bias, unscaled attention, feed-forward,
// and the encoder / decoder blocks. T5Model streams the weights and calls these.
#pragma once

#include "inference/t5config.h"
#include "inference/unitweights.h"

#include <ATen/ATen.h>

namespace surfing::t5 {

// T5LayerNorm: weight * x / sqrt(mean(x^2) + eps); no mean subtraction, no bias.
at::Tensor rmsNorm(const at::Tensor &x, const at::Tensor &weight, double eps);

// transformers' T5Attention._relative_position_bucket. `relativePosition` = key position - query
// position (int64). Bidirectional (encoder): half the buckets for each sign. Unidirectional
// (decoder): future keys share bucket 0 with distance 0.
at::Tensor relativePositionBuckets(const at::Tensor &relativePosition, bool bidirectional,
                                   int numBuckets, int maxDistance);

// [1, heads, queryLength, keyLength] bias from block 0's table [buckets, heads], for queries at
// positions queryOffset.. and keys at 0..keyLength-1.
at::Tensor positionBias(const at::Tensor &table, int64_t queryLength, int64_t keyLength,
                        int64_t queryOffset, bool bidirectional, const T5Config &config);

// [batch, 1, 1, keys]: 0 where keyMask is 1, float32 lowest where it is 0 (padded keys).
at::Tensor paddingBias(const at::Tensor &keyMask);
// [1, 1, queryLength, keyLength]: float32 lowest where a key lies after its query.
at::Tensor causalBias(int64_t queryLength, int64_t keyLength, int64_t queryOffset);

// Keys and values of one attention layer that later decoder steps reuse.
struct KeyValue {
    at::Tensor key;   // [batch, heads, length, d_kv]
    at::Tensor value;
    bool defined() const { return key.defined(); }
};

struct DecoderLayerCache {
    KeyValue self;  // grows by one position per step
    KeyValue cross; // computed once from the encoder output
};

// Encoder block (self-attention with `bias`, feed-forward), residuals included.
at::Tensor encoderBlock(const UnitWeights &w, const T5Config &config, const at::Tensor &hidden,
                        const at::Tensor &bias);

// Decoder block: causal self-attention (`selfBias` already holds position bias + causal mask),
// cross-attention to `encoderOutput` (`crossBias`: padding of the encoder keys), feed-forward.
// With `cache`, appends this call's self keys/values and fills the cross keys/values once.
at::Tensor decoderBlock(const UnitWeights &w, const T5Config &config, const at::Tensor &hidden,
                        const at::Tensor &selfBias, const at::Tensor &encoderOutput,
                        const at::Tensor &crossBias, DecoderLayerCache *cache);

} // namespace surfing::t5
