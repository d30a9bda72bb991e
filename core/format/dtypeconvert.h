// The explicit, lossy dtype conversion of `chunk --dtype`: float32 to float16 or bfloat16,
// rounding to nearest even exactly as libtorch's Tensor.to() does.
#pragma once

#include "format/dtype.h"

#include <QByteArray>
#include <QByteArrayView>

namespace surfing {

// `to` must be F16 or BF16; `f32` holds little-endian float32 values.
QByteArray convertFloat32(QByteArrayView f32, Dtype to);

} // namespace surfing
