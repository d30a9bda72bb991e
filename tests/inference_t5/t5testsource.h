// Test helpers for the T5 suites: a chunk source over chunks planned in memory from a model
// directory (the same planChunks + safetensors path the chunker uses), golden loading, comparison.
#pragma once

#include "client/chunksource.h"
#include "format/modelconfig.h"

#include <ATen/ATen.h>
#include <QHash>
#include <QJsonObject>
#include <QStringList>

namespace surfing::test {

class PlannedChunkSource : public ChunkSource
{
public:
    explicit PlannedChunkSource(const QString &modelDir);

    const ChunkManifest &manifest() const override { return m_manifest; }
    void prefetch(const QString &) override {}
    std::shared_ptr<const QByteArray> acquire(const QString &name, ChunkFetch *fetch) override;

    QStringList acquired; // every acquire, in order

private:
    ChunkManifest m_manifest;
    QHash<QString, std::shared_ptr<const QByteArray>> m_chunks;
};

QHash<QString, at::Tensor> loadTensors(const QString &safetensorsPath);
QJsonObject loadJson(const QString &path);
// [[..],[..]] -> int64 [rows, cols]
at::Tensor idsTensor(const QJsonValue &rows);
double maxAbsDiff(const at::Tensor &a, const at::Tensor &b);

} // namespace surfing::test
