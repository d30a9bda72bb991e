#include "jsonfile.h"

#include "base/error.h"
#include "base/files.h"

#include <QFile>
#include <QJsonDocument>
#include <QJsonParseError>

namespace surfing {
namespace {
// The largest tokenizer.json files (256k-token vocabularies) are around 35 MB.
constexpr qint64 kMaxJsonFileBytes = 512 * 1024 * 1024;
} // namespace

QJsonObject readJsonObjectFile(const QString &path)
{
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(readRegularFile(path, kMaxJsonFileBytes), &parseError);
    if (parseError.error != QJsonParseError::NoError)
        throw Error(QStringLiteral("%1 is not valid JSON (offset %2): %3")
                        .arg(path)
                        .arg(parseError.offset)
                        .arg(parseError.errorString()));
    if (!document.isObject())
        throw Error(QStringLiteral("%1 must hold a JSON object").arg(path));
    return document.object();
}

QJsonObject readOptionalJsonObjectFile(const QString &path)
{
    return QFile::exists(path) ? readJsonObjectFile(path) : QJsonObject();
}

} // namespace surfing
