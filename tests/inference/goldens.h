// Reading the goldens of ../shared/models/*/golden in the inference tests.
#pragma once

#include <ATen/ATen.h>
#include <QJsonObject>
#include <QString>

namespace surfing::test {

QJsonObject readJson(const QString &path);
// A tensor of a safetensors file, copied (float32 or int64).
at::Tensor goldenTensor(const QString &file, const QString &key);
// [[1,2],[3,4]] -> int64 tensor [2, 2].
at::Tensor idsTensor(const QJsonValue &rows);
// Largest |a - b| where `mask` [B, T] is 1 (a, b [B, T, ...]); mask undefined = everywhere.
double maxAbsDiff(const at::Tensor &a, const at::Tensor &b, const at::Tensor &mask = {});
std::vector<int64_t> toIds(const QJsonValue &list);

} // namespace surfing::test
