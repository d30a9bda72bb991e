// The "pre_tokenizer" of a tokenizer.json: cuts normalized text into words for the model.
#pragma once

#include <QJsonValue>
#include <QString>
#include <QStringList>
#include <functional>

namespace surfing {

// Maps the pieces so far to finer pieces; the first piece is the start of the text.
using PreTokenizer = std::function<QStringList(const QStringList &)>;

// Supports Sequence, ByteLevel, Metaspace, Split, Whitespace, WhitespaceSplit, BertPreTokenizer,
// Digits and Punctuation; null keeps the text whole. Throws surfing::Error naming FILE and the
// type otherwise.
PreTokenizer makePreTokenizer(const QJsonValue &spec, const QString &file);

} // namespace surfing
