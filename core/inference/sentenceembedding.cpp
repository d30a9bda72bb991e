#include "inference/sentenceembedding.h"

#include <cmath>

namespace surfing {

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

QVector<double> similaritiesToFirst(const QVector<QVector<double>> &embeddings)
{
    QVector<double> out;
    for (const QVector<double> &e : embeddings)
        out.append(cosineSimilarity(embeddings.first(), e));
    return out;
}

} // namespace surfing
