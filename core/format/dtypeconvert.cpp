#include "format/dtypeconvert.h"

#include "base/error.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <cstring>

namespace surfing {
namespace {

template<typename Narrow>
QByteArray narrow(QByteArrayView f32)
{
    const qint64 count = f32.size() / 4;
    QByteArray out(qsizetype(count * 2), Qt::Uninitialized);
    for (qint64 i = 0; i < count; ++i) {
        float value;
        std::memcpy(&value, f32.data() + i * 4, 4);
        const Narrow n(value);
        std::memcpy(out.data() + i * 2, &n, 2);
    }
    return out;
}

} // namespace

QByteArray convertFloat32(QByteArrayView f32, Dtype to)
{
    switch (to) {
    case Dtype::F16: return narrow<c10::Half>(f32);
    case Dtype::BF16: return narrow<c10::BFloat16>(f32);
    default: throw Error(QStringLiteral("cannot convert float32 to %1; choose f16 or bf16").arg(dtypeName(to)));
    }
}

} // namespace surfing
