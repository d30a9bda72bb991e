// Tensor element types as safetensors names them ("F32", "BF16", ...).
#pragma once

#include <QString>
#include <optional>

namespace surfing {

// Q8_0 and Q4_0 are GGUF's block-quantized types (format/quant.h): blocks of 32 values along the
// last dimension, each with one f16 scale; Surfing's own extension of the safetensors dtype names.
enum class Dtype { F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U64, U32, U16, U8, Bool, Q8_0, Q4_0 };

std::optional<Dtype> dtypeFromName(const QString &name);
QString dtypeName(Dtype dtype);
// Bytes per element; for a block type (dtypeBlockValues() > 1) bytes per block.
int dtypeSize(Dtype dtype);
// Values per block: 1, or 32 for Q8_0 / Q4_0.
int dtypeBlockValues(Dtype dtype);
// Bytes of `elements` values of `dtype` (a tensor's data span), or -1 when a block type's last
// dimension `lastDim` is not a whole number of blocks or the count overflows.
qint64 dtypeByteCount(Dtype dtype, qint64 elements, qint64 lastDim);
bool isFloatingPoint(Dtype dtype);
QString supportedDtypeNames(); // "F64, F32, ..." for error messages

} // namespace surfing
