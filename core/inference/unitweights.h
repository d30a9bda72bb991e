// The tensors of one streaming unit (chunk), as libtorch tensors keyed by their name in the chunk,
// kept in their stored dtype as zero-copy views over the chunk bytes.
//
// Over a chunk still arriving (client/chunkarrival.h), a tensor is handed out only once all of
// its bytes are verified: stored() and get() wait for them, and arrivingRows() lets a product
// read a matrix's rows as they are verified (ops::linear). Compute therefore starts on a layer's
// first tensors while its last ones are on their way.
#pragma once

#include "format/safetensors.h"

#include <ATen/ATen.h>
#include <QByteArray>
#include <QHash>
#include <QString>
#include <memory>
#include <optional>

namespace surfing {

class ChunkArrival;

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
    // Over a chunk still arriving whose header (verified) is `header`.
    static UnitWeights fromArrival(std::shared_ptr<ChunkArrival> arrival, const QString &unit,
                                   const SafetensorsHeader &header);

    QString unit() const { return m_unit; }
    bool contains(const QString &key) const { return m_tensors.contains(key) || m_arriving.contains(key); }
    // Throws surfing::Error naming the unit and key when absent. Float32 for compute: an f16/bf16
    // tensor is widened on every call, so use it for small tensors (norms, biases, bias tables).
    at::Tensor get(const QString &key) const;
    // As stored (f32, f16 or bf16), no copy: for the matrices the linear layers and embedding
    // lookups read (ops::affine, ops::embedding), which widen only what they need. A Q8_0 / Q4_0
    // matrix [rows, cols] is a uint8 tensor [rows, cols / 32, block bytes] (quantops.h); get()
    // widens it whole. A chunk with a NaN or infinite block scale is refused when it is wrapped.
    at::Tensor stored(const QString &key) const;
    QStringList keys() const;

    // A 2-D f32/f16/bf16 matrix whose bytes are still arriving, for a product that reads its rows
    // as they are verified (ChunkArrival::readAsVerified()).
    struct ArrivingRows {
        std::shared_ptr<ChunkArrival> arrival;
        at::ScalarType type = at::kFloat; // f32, f16 or bf16
        int64_t rows = 0;
        int64_t cols = 0;
        qint64 offset = 0; // of row 0 in the chunk
    };
    // Nothing when the tensor is here already, absent, quantized or not 2-D: use stored().
    std::optional<ArrivingRows> arrivingRows(const QString &key) const;

private:
    // Tensor `t` over the chunk's data buffer starting at `dataStart`, co-owning `owner`.
    static at::Tensor tensorOver(const char *dataStart, const TensorInfo &t, const QString &unit,
                                 std::shared_ptr<const void> owner);

    QString m_unit;
    // Filled as tensors are asked for when the chunk is arriving (one compute thread per unit).
    mutable QHash<QString, at::Tensor> m_tensors;
    QHash<QString, TensorInfo> m_arriving; // not handed out yet
    std::shared_ptr<ChunkArrival> m_arrival;
    qint64 m_dataOffset = 0; // of the arriving chunk's data buffer
};

} // namespace surfing
