// The "decoder" of a tokenizer.json: token strings -> the pieces of the decoded text.
#pragma once

#include <QJsonValue>
#include <QString>
#include <QStringList>
#include <functional>

namespace surfing {

using Decoder = std::function<QStringList(const QStringList &)>;

// Supports Sequence, Replace, ByteFallback, Fuse, Strip, ByteLevel, WordPiece, Metaspace and
// BPEDecoder; null joins tokens with spaces. Throws surfing::Error naming FILE and the type otherwise.
Decoder makeDecoder(const QJsonValue &spec, const QString &file);

} // namespace surfing
