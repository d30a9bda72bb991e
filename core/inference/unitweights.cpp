#include "inference/unitweights.h"

#include "base/error.h"
#include "client/chunkarrival.h"
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
    for (const TensorInfo &t : header.tensors)
        weights.m_tensors.insert(t.name, tensorOver(bytes->constData() + header.dataOffset, t, unit, bytes));
    return weights;
}

UnitWeights UnitWeights::fromArrival(std::shared_ptr<ChunkArrival> arrival, const QString &unit,
                                     const SafetensorsHeader &header)
{
    UnitWeights weights;
    weights.m_unit = unit;
    weights.m_dataOffset = header.dataOffset;
    weights.m_arrival = std::move(arrival);
    for (const TensorInfo &t : header.tensors)
        weights.m_arriving.insert(t.name, t);
    return weights;
}

at::Tensor UnitWeights::tensorOver(const char *dataStart, const TensorInfo &t, const QString &unit,
                                   std::shared_ptr<const void> owner)
{
    std::vector<int64_t> sizes(t.shape.begin(), t.shape.end());
    void *data = const_cast<char *>(dataStart + t.begin);
    if (const auto type = quant::quantTypeOf(t.dtype)) {
        const int64_t cols = sizes.back(), rows = cols ? t.elementCount() / cols : 0;
        return ops::quantizedMatrix(data, *type, rows, cols, std::move(owner));
    }
    // The tensor co-owns the bytes; safetensors data is only 8-byte aligned at its start,
    // so unaligned tensors are copied.
    const bool aligned = reinterpret_cast<quintptr>(data) % dtypeSize(t.dtype) == 0;
    at::Tensor tensor = at::from_blob(data, sizes, [owner](void *) {}, at::TensorOptions().dtype(scalarTypeOf(t.dtype, unit, t.name)));
    return aligned ? tensor : tensor.clone();
}

QStringList UnitWeights::keys() const
{
    return m_tensors.keys() + m_arriving.keys();
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
    const auto it = m_tensors.constFind(key);
    if (it != m_tensors.constEnd())
        return *it;
    const auto arriving = m_arriving.constFind(key);
    if (arriving == m_arriving.constEnd())
        throw Error(QStringLiteral("chunk '%1' has no tensor '%2'").arg(m_unit, key));
    const char *base = m_arrival->waitFor(m_dataOffset + arriving->end);
    const at::Tensor tensor = tensorOver(base + m_dataOffset, *arriving, m_unit, m_arrival);
    m_tensors.insert(key, tensor);
    return tensor;
}

std::optional<UnitWeights::ArrivingRows> UnitWeights::arrivingRows(const QString &key) const
{
    const auto it = m_arriving.constFind(key);
    if (it == m_arriving.constEnd() || m_tensors.contains(key) || it->shape.size() != 2
        || !(it->dtype == Dtype::F32 || it->dtype == Dtype::F16 || it->dtype == Dtype::BF16)
        || (m_dataOffset + it->begin) % dtypeSize(it->dtype) != 0)
        return std::nullopt;
    return ArrivingRows{m_arrival, scalarTypeOf(it->dtype, m_unit, key), it->shape[0], it->shape[1], m_dataOffset + it->begin};
}

} // namespace surfing
