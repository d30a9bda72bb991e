// Reading the small JSON files that sit next to a tokenizer.
#pragma once

#include <QJsonObject>
#include <QString>

namespace surfing {

// Parses PATH as a JSON object. Throws surfing::Error naming the file when unreadable or invalid.
QJsonObject readJsonObjectFile(const QString &path);

// Like readJsonObjectFile, but an absent file gives an empty object.
QJsonObject readOptionalJsonObjectFile(const QString &path);

} // namespace surfing
