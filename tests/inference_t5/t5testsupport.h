// Test helpers for the T5 suite: golden tensors and case JSON, id tensors, comparison.
#pragma once

#include <ATen/ATen.h>
#include <QHash>
#include <QJsonObject>
#include <QString>

namespace surfing::test {

QHash<QString, at::Tensor> loadTensors(const QString &safetensorsPath);
QJsonObject loadJson(const QString &path);
// [[..],[..]] -> int64 [rows, cols]
at::Tensor idsTensor(const QJsonValue &rows);
double maxAbsDiff(const at::Tensor &a, const at::Tensor &b);

} // namespace surfing::test
