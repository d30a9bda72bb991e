#include "jsonfile.h"

#include "base/error.h"

#include <QFile>
#include <QJsonDocument>
#include <QJsonParseError>

namespace surfing {

QJsonObject readJsonObjectFile(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        throw Error(QStringLiteral("cannot read %1: %2").arg(path, file.errorString()));
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(file.readAll(), &parseError);
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
