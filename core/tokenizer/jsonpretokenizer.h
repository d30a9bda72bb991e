// The "pre_tokenizer" of a tokenizer.json: cuts normalized text into words for the model.
#pragma once

#include <QJsonValue>
#include <QString>
#include <QStringList>
#include <functional>

namespace surfing {

// Maps the pieces so far to finer pieces. atTextStart: the first piece begins the whole input
// (not text after an added token), which Metaspace's prepend_scheme "first" needs.
using PreTokenizer = std::function<QStringList(const QStringList &pieces, bool atTextStart)>;

// Supports Sequence, ByteLevel, Metaspace, Split, Whitespace, WhitespaceSplit, BertPreTokenizer,
// Digits and Punctuation; null keeps the text whole. Throws surfing::Error naming FILE and the
// type otherwise.
PreTokenizer makePreTokenizer(const QJsonValue &spec, const QString &file);

} // namespace surfing
