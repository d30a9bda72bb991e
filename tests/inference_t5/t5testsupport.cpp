#include "t5testsupport.h"

#include "base/error.h"
#include "format/safetensors.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>

namespace surfing::test {

QHash<QString, at::Tensor> loadTensors(const QString &path)
{
    SafetensorsFile file(path);
    QHash<QString, at::Tensor> out;
    for (const TensorInfo &t : file.header().tensors) {
        if (t.dtype != Dtype::F32)
            throw Error(path + QStringLiteral(": expected F32 tensors"));
        std::vector<int64_t> shape(t.shape.begin(), t.shape.end());
        const QByteArrayView data = file.tensorData(t);
        at::Tensor tensor = at::empty(shape, at::kFloat);
        memcpy(tensor.data_ptr(), data.data(), size_t(data.size()));
        out.insert(t.name, tensor);
    }
    return out;
}

QJsonObject loadJson(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        throw Error(QStringLiteral("cannot read %1").arg(path));
    return QJsonDocument::fromJson(file.readAll()).object();
}

at::Tensor idsTensor(const QJsonValue &rows)
{
    const QJsonArray outer = rows.toArray();
    std::vector<int64_t> values;
    int64_t cols = 0;
    for (const QJsonValue &row : outer) {
        const QJsonArray inner = row.toArray();
        cols = inner.size();
        for (const QJsonValue &v : inner)
            values.push_back(v.toInteger());
    }
    return at::tensor(values, at::kLong).view({int64_t(outer.size()), cols});
}

double maxAbsDiff(const at::Tensor &a, const at::Tensor &b)
{
    if (!a.sizes().equals(b.sizes()))
        return std::numeric_limits<double>::infinity();
    return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

} // namespace surfing::test
