#include "inference/unitweights.h"

#include "base/error.h"
#include "format/quant.h"
#include "format/safetensors.h"
#include "inference/quantops.h"

namespace surfing {
namespace {

at::ScalarType scalarTypeOf(Dtype dtype, const QString &unit, const QString &name)
{
    switch (dtype) {
    case Dtype::F64: return at::kDouble;
    case Dtype::F32: return at::kFloat;
    case Dtype::F16: return at::kHalf;
    case Dtype::BF16: return at::kBFloat16;
    case Dtype::I64: return at::kLong;
    case Dtype::I32: return at::kInt;
    case Dtype::I16: return at::kShort;
    case Dtype::I8: return at::kChar;
    case Dtype::U8: return at::kByte;
    case Dtype::Bool: return at::kBool;
    default:
        throw Error(QStringLiteral("%1/%2: dtype %3 cannot be used for compute").arg(unit, name, dtypeName(dtype)));
    }
}

} // namespace

UnitWeights UnitWeights::fromSafetensors(std::shared_ptr<const QByteArray> bytes, const QString &unit)
{
    const SafetensorsHeader header = parseSafetensors(*bytes, unit);
    quant::checkQuantizedTensors(header, *bytes, QStringLiteral("chunk '%1'").arg(unit));
    return fromSafetensors(std::move(bytes), unit, header);
}

UnitWeights UnitWeights::fromSafetensors(std::shared_ptr<const QByteArray> bytes, const QString &unit,
                                         const SafetensorsHeader &header)
{
    UnitWeights weights;
    weights.m_unit = unit;
    for (const TensorInfo &t : header.tensors) {
        std::vector<int64_t> sizes(t.shape.begin(), t.shape.end());
        void *data = const_cast<char *>(bytes->constData() + header.dataOffset + t.begin);
        if (const auto type = quant::quantTypeOf(t.dtype)) {
            const int64_t cols = sizes.back(), rows = cols ? t.elementCount() / cols : 0;
            weights.m_tensors.insert(t.name, ops::quantizedMatrix(data, *type, rows, cols, bytes));
            continue;
        }
        // The tensor co-owns the bytes; safetensors data is only 8-byte aligned at its start,
        // so unaligned tensors are copied.
        const bool aligned = reinterpret_cast<quintptr>(data) % dtypeSize(t.dtype) == 0;
        at::Tensor tensor = at::from_blob(data, sizes, [bytes](void *) {}, at::TensorOptions().dtype(scalarTypeOf(t.dtype, unit, t.name)));
        if (!aligned)
            tensor = tensor.clone();
        weights.m_tensors.insert(t.name, tensor);
    }
    return weights;
}

at::Tensor UnitWeights::get(const QString &key) const
{
    const at::Tensor t = stored(key);
    if (ops::quantTypeOf(t))
        return ops::dequantized(t);
    if (t.scalar_type() == at::kHalf || t.scalar_type() == at::kBFloat16)
        return t.to(at::kFloat);
    return t;
}

at::Tensor UnitWeights::stored(const QString &key) const
{
    const auto it = m_tensors.find(key);
    if (it == m_tensors.end())
        throw Error(QStringLiteral("chunk '%1' has no tensor '%2'").arg(m_unit, key));
    return *it;
}

} // namespace surfing
