// The "normalizer" of a tokenizer.json: text -> text before pre-tokenization.
#pragma once

#include <QJsonValue>
#include <QString>
#include <functional>

namespace surfing {

using Normalizer = std::function<QString(const QString &)>;

// Supports Sequence, Prepend, Replace, Strip, NFC/NFD/NFKC/NFKD, Lowercase, StripAccents and
// BertNormalizer; null gives the identity. Throws surfing::Error naming FILE and the type otherwise.
Normalizer makeNormalizer(const QJsonValue &spec, const QString &file);

} // namespace surfing
