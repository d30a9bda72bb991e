// The tensors of one streaming unit (chunk), as libtorch tensors keyed by their name in the chunk.
#pragma once

#include <ATen/ATen.h>
#include <QByteArray>
#include <QHash>
#include <QString>
#include <memory>

namespace surfing {

class UnitWeights
{
public:
    UnitWeights() = default;
    // Wraps decoded safetensors bytes without copying; the bytes stay alive as long as any tensor.
    static UnitWeights fromSafetensors(std::shared_ptr<const QByteArray> bytes, const QString &unit);

    QString unit() const { return m_unit; }
    bool contains(const QString &key) const { return m_tensors.contains(key); }
    // Throws surfing::Error naming the unit and key when absent. Always float32 for compute
    // (f16/bf16 chunks are widened here).
    at::Tensor get(const QString &key) const;
    QStringList keys() const { return m_tensors.keys(); }

private:
    QString m_unit;
    QHash<QString, at::Tensor> m_tensors;
};

} // namespace surfing
