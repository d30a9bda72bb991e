// The "model" of a tokenizer.json (BPE, WordPiece or WordLevel): one word -> token ids.
#pragma once

#include "vocabulary.h"

#include <QJsonValue>
#include <QString>
#include <QVector>
#include <functional>

namespace surfing {

struct JsonModel {
    Vocabulary vocabulary;
    std::function<QVector<qint64>(const QString &word)> tokenize;
};

// Throws surfing::Error naming FILE and the field or type at fault.
JsonModel makeModel(const QJsonValue &spec, const QString &file);

} // namespace surfing
