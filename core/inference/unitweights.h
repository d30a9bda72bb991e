// The tensors of one streaming unit (chunk), as libtorch tensors keyed by their name in the chunk,
// kept in their stored dtype as zero-copy views over the chunk bytes.
#pragma once

#include <ATen/ATen.h>
#include <QByteArray>
#include <QHash>
#include <QString>
#include <memory>

namespace surfing {

struct SafetensorsHeader;

class UnitWeights
{
public:
    UnitWeights() = default;
    // Wraps decoded safetensors bytes without copying; the bytes stay alive as long as any tensor.
    static UnitWeights fromSafetensors(std::shared_ptr<const QByteArray> bytes, const QString &unit);
    // The same with the header already parsed from these bytes (parseSafetensors) and their
    // quantized blocks checked (quant::checkQuantizedTensors).
    static UnitWeights fromSafetensors(std::shared_ptr<const QByteArray> bytes, const QString &unit,
                                       const SafetensorsHeader &header);

    QString unit() const { return m_unit; }
    bool contains(const QString &key) const { return m_tensors.contains(key); }
    // Throws surfing::Error naming the unit and key when absent. Float32 for compute: an f16/bf16
    // tensor is widened on every call, so use it for small tensors (norms, biases, bias tables).
    at::Tensor get(const QString &key) const;
    // As stored (f32, f16 or bf16), no copy: for the matrices the linear layers and embedding
    // lookups read (ops::affine, ops::embedding), which widen only what they need. A Q8_0 / Q4_0
    // matrix [rows, cols] is a uint8 tensor [rows, cols / 32, block bytes] (quantops.h); get()
    // widens it whole. A chunk with a NaN or infinite block scale is refused when it is wrapped.
    at::Tensor stored(const QString &key) const;
    QStringList keys() const { return m_tensors.keys(); }

private:
    QString m_unit;
    QHash<QString, at::Tensor> m_tensors;
};

} // namespace surfing
