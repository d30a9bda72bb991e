#include "protocol/jsonfields.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <cmath>

namespace surfing::protocol {

QJsonObject parseJsonObject(QByteArrayView text, qint64 maxBytes)
{
    if (text.size() > maxBytes)
        throw ProtocolError(ErrorCode::BadRequest,
                            QStringLiteral("message of %1 bytes is larger than the limit of %2 bytes")
                                .arg(text.size()).arg(maxBytes));
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(text.toByteArray(), &error);
    if (error.error != QJsonParseError::NoError)
        throw ProtocolError(ErrorCode::BadRequest,
                            QStringLiteral("message is not valid JSON: %1 at offset %2")
                                .arg(error.errorString()).arg(error.offset));
    if (!doc.isObject())
        throw ProtocolError(ErrorCode::BadRequest, QStringLiteral("message is not a JSON object"));
    return doc.object();
}

bool JsonFields::has(const char *field) const
{
    const QJsonValue v = m_object.value(QLatin1String(field));
    return !v.isUndefined() && !v.isNull();
}

void JsonFields::fail(const char *field, const QString &problem) const
{
    throw ProtocolError(ErrorCode::BadRequest,
                        QStringLiteral("'%1' message: field '%2' %3").arg(m_type, QLatin1String(field), problem),
                        m_requestId);
}

std::optional<QString> JsonFields::optionalString(const char *field, int maxLength) const
{
    if (!has(field))
        return std::nullopt;
    const QJsonValue v = m_object.value(QLatin1String(field));
    if (!v.isString())
        fail(field, QStringLiteral("must be a string"));
    const QString s = v.toString();
    if (s.size() > maxLength)
        fail(field, QStringLiteral("is longer than %1 characters").arg(maxLength));
    return s;
}

QString JsonFields::string(const char *field, int maxLength) const
{
    const std::optional<QString> s = optionalString(field, maxLength);
    if (!s)
        fail(field, QStringLiteral("is missing"));
    return *s;
}

std::optional<qint64> JsonFields::optionalInteger(const char *field, qint64 min, qint64 max) const
{
    if (!has(field))
        return std::nullopt;
    const QJsonValue v = m_object.value(QLatin1String(field));
    const double d = v.toDouble(std::nan(""));
    if (!v.isDouble() || !std::isfinite(d) || std::floor(d) != d || d < double(min) || d > double(max))
        fail(field, QStringLiteral("must be an integer in %1..%2").arg(min).arg(max));
    return qint64(d);
}

qint64 JsonFields::integer(const char *field, qint64 min, qint64 max) const
{
    const std::optional<qint64> i = optionalInteger(field, min, max);
    if (!i)
        fail(field, QStringLiteral("is missing"));
    return *i;
}

QJsonObject JsonFields::object(const char *field) const
{
    const QJsonValue v = m_object.value(QLatin1String(field));
    if (!v.isObject())
        fail(field, QStringLiteral("must be a JSON object"));
    return v.toObject();
}

QJsonArray JsonFields::array(const char *field) const
{
    const QJsonValue v = m_object.value(QLatin1String(field));
    if (!v.isArray())
        fail(field, QStringLiteral("must be a JSON array"));
    return v.toArray();
}

} // namespace surfing::protocol
