#include "goldens.h"

#include "base/error.h"
#include "format/safetensors.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>

namespace surfing::test {

QJsonObject readJson(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        throw Error(QStringLiteral("cannot read %1").arg(path));
    return QJsonDocument::fromJson(f.readAll()).object();
}

at::Tensor goldenTensor(const QString &file, const QString &key)
{
    SafetensorsFile st(file);
    const TensorInfo *info = st.header().find(key);
    if (!info)
        throw Error(QStringLiteral("%1 has no tensor '%2'").arg(file, key));
    const QByteArrayView data = st.tensorData(*info);
    std::vector<int64_t> shape(info->shape.begin(), info->shape.end());
    const at::ScalarType type = info->dtype == Dtype::I64 ? at::kLong : at::kFloat;
    return at::from_blob(const_cast<char *>(data.data()), shape, at::TensorOptions().dtype(type)).clone();
}

at::Tensor idsTensor(const QJsonValue &rows)
{
    std::vector<int64_t> flat;
    QJsonArray outer = rows.toArray();
    if (!outer.isEmpty() && !outer.first().isArray())
        outer = QJsonArray{outer}; // one unbatched row
    int64_t width = 0;
    for (const QJsonValue &row : outer) {
        const QJsonArray r = row.toArray();
        width = r.size();
        for (const QJsonValue &v : r)
            flat.push_back(int64_t(v.toDouble()));
    }
    return at::tensor(flat, at::kLong).view({int64_t(outer.size()), width});
}

double maxAbsDiff(const at::Tensor &a, const at::Tensor &b, const at::Tensor &mask)
{
    if (a.sizes() != b.sizes())
        return std::numeric_limits<double>::infinity();
    at::Tensor diff = (a - b).abs();
    if (mask.defined()) {
        at::Tensor m = mask.to(at::kFloat);
        while (m.dim() < diff.dim())
            m = m.unsqueeze(-1);
        diff = diff * m;
    }
    return diff.max().item<double>();
}

std::vector<int64_t> toIds(const QJsonValue &list)
{
    std::vector<int64_t> ids;
    for (const QJsonValue &v : list.toArray())
        ids.push_back(int64_t(v.toDouble()));
    return ids;
}

} // namespace surfing::test
