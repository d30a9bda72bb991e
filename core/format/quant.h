// GGUF's block-quantized weight types Q8_0 and Q4_0, byte for byte as llama.cpp (ggml) lays them
// out, so the same model quantized by `surfing-cli chunk --quantize` and by llama.cpp's
// llama_model_quantize holds the same blocks (docs/chunk-format.md, "Quantized chunks"):
//   Q8_0 block, 34 bytes: f16 scale d, then 32 int8 q;           value[j] = d * q[j]
//   Q4_0 block, 18 bytes: f16 scale d, then 16 bytes of nibbles;  value[j] = d * ((qs[j] & 15) - 8),
//                                                                 value[j + 16] = d * ((qs[j] >> 4) - 8)
// Blocks run along the last dimension (a row of a [out, in] matrix is in/32 blocks).
#pragma once

#include "format/dtype.h"
#include "format/safetensors.h"

#include <QByteArray>
#include <cstdint>
#include <optional>

namespace surfing::quant {

enum class QuantType { Q8_0, Q4_0 };

constexpr int kBlockValues = 32;
constexpr int kQ8BlockBytes = 34;
constexpr int kQ4BlockBytes = 18;

int blockBytes(QuantType type);
Dtype dtypeOf(QuantType type);
std::optional<QuantType> quantTypeOf(Dtype dtype);
// "q8_0" / "q4_0" (the --quantize and manifest spelling); nullopt for anything else.
std::optional<QuantType> quantTypeFromName(const QString &name);
QString quantTypeName(QuantType type);

// Quantizes n float32 values (n a multiple of 32) exactly as ggml's quantize_row_q8_0_ref /
// quantize_row_q4_0_ref do (scale rounded to f16 to nearest even, the values with its f32 inverse).
QByteArray quantize(QuantType type, const float *values, int64_t n);
// Quantizes a whole tensor stored as F32, F16 or BF16 (little-endian bytes) along its rows.
QByteArray quantizeTensor(QuantType type, Dtype from, QByteArrayView data);
// Whether `chunk --quantize` quantizes a tensor of this dtype and shape: a 2-D floating-point
// (F32, F16, BF16) matrix whose rows are whole blocks. 1-D tensors (norms, biases) are kept.
bool isQuantizable(Dtype dtype, const QVector<qint64> &shape);
// Reference dequantization of `blocks` blocks into 32 * blocks floats.
void dequantize(QuantType type, const uint8_t *data, int64_t blocks, float *out);

// The scale of block `block` as a float.
float blockScale(const uint8_t *data, QuantType type, int64_t block);
// Index of the first block whose scale is NaN or infinite, or -1.
int64_t firstNonFiniteScale(QuantType type, const uint8_t *data, int64_t blocks);

// Checks every Q8_0 / Q4_0 tensor of a parsed safetensors file (held whole in `file`): a NaN or
// infinite scale is refused, naming `source`, the tensor and the block. (Block counts and
// truncation are checked by parseSafetensors.) Throws surfing::Error.
void checkQuantizedTensors(const SafetensorsHeader &header, QByteArrayView file, const QString &source);

} // namespace surfing::quant
