#include "sentenceembedding.h"

#include "base/error.h"
#include "format/safetensors.h"

#include <cmath>
#include <cstring>

namespace surfing::ui {

QVector<double> meanPooledEmbedding(const QString &path)
{
    SafetensorsFile file(path);
    const TensorInfo *hidden = file.header().find(QStringLiteral("last_hidden_state"));
    if (!hidden || hidden->dtype != Dtype::F32 || hidden->shape.size() != 3 || hidden->shape[0] != 1)
        throw Error(QStringLiteral("%1: no F32 last_hidden_state of shape [1, T, H]").arg(path));
    const qint64 tokens = hidden->shape[1], width = hidden->shape[2];
    const QByteArrayView data = file.tensorData(*hidden);
    QVector<double> mean(width, 0.0);
    for (qint64 t = 0; t < tokens; ++t) {
        for (qint64 h = 0; h < width; ++h) {
            float v;
            std::memcpy(&v, data.data() + (t * width + h) * sizeof(float), sizeof(float));
            mean[h] += v;
        }
    }
    for (double &v : mean)
        v /= double(qMax<qint64>(1, tokens));
    return mean;
}

double cosineSimilarity(const QVector<double> &a, const QVector<double> &b)
{
    if (a.size() != b.size() || a.isEmpty())
        return 0.0;
    double dot = 0, na = 0, nb = 0;
    for (int i = 0; i < a.size(); ++i) {
        dot += a[i] * b[i];
        na += a[i] * a[i];
        nb += b[i] * b[i];
    }
    return na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : 0.0;
}

} // namespace surfing::ui
