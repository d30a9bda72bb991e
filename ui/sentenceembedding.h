// The encoder demo's arithmetic: a sentence vector is the mean of BERT's last hidden states over
// its tokens; sentences are compared by cosine similarity.
#pragma once

#include <QString>
#include <QVector>

namespace surfing::ui {

// Reads "last_hidden_state" [1, T, H] (F32) from a safetensors file written by
// InferenceSession::dumpTensors(); throws surfing::Error naming the file.
QVector<double> meanPooledEmbedding(const QString &safetensorsPath);
double cosineSimilarity(const QVector<double> &a, const QVector<double> &b);

} // namespace surfing::ui
