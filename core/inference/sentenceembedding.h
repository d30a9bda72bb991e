// Sentence similarity with an encoder (BERT): a sentence's vector is the mean of the last hidden
// states over its tokens (InferenceResult::embedding), sentences are compared by cosine
// similarity. Free of libtorch: the GUI's encoder demo uses it.
#pragma once

#include <QVector>

namespace surfing {

// 0 when either vector is empty or zero, or their sizes differ.
double cosineSimilarity(const QVector<double> &a, const QVector<double> &b);
// Each embedding's cosine similarity to the first (the first gets 1).
QVector<double> similaritiesToFirst(const QVector<QVector<double>> &embeddings);

} // namespace surfing
