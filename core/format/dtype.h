// Tensor element types as safetensors names them ("F32", "BF16", ...).
#pragma once

#include <QString>
#include <optional>

namespace surfing {

enum class Dtype { F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U64, U32, U16, U8, Bool };

std::optional<Dtype> dtypeFromName(const QString &name);
QString dtypeName(Dtype dtype);
int dtypeSize(Dtype dtype);
bool isFloatingPoint(Dtype dtype);
QString supportedDtypeNames(); // "F64, F32, ..." for error messages

} // namespace surfing
