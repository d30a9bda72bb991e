// Internal to core/protocol: typed, range-checked reads of the fields of one JSON message.
// Every failure throws ProtocolError(BadRequest) naming the message type and the field.
#pragma once

#include "protocol/errorcode.h"

#include <QByteArrayView>
#include <QJsonArray>
#include <QJsonObject>
#include <QString>
#include <optional>

namespace surfing::protocol {

// Parses `text` as one JSON object of at most `maxBytes`; throws naming what is wrong.
QJsonObject parseJsonObject(QByteArrayView text, qint64 maxBytes);

class JsonFields
{
public:
    JsonFields(const QJsonObject &object, const QString &messageType)
        : m_object(object), m_type(messageType) {}

    // The request id errors should carry once it is known.
    void setRequestId(quint32 id) { m_requestId = id; }

    bool has(const char *field) const;
    QString string(const char *field, int maxLength) const;                  // required
    std::optional<QString> optionalString(const char *field, int maxLength) const;
    qint64 integer(const char *field, qint64 min, qint64 max) const;         // required
    std::optional<qint64> optionalInteger(const char *field, qint64 min, qint64 max) const; // null/absent
    QJsonObject object(const char *field) const;
    QJsonArray array(const char *field) const;

    [[noreturn]] void fail(const char *field, const QString &problem) const;

private:
    QJsonObject m_object;
    QString m_type;
    quint32 m_requestId = 0;
};

} // namespace surfing::protocol
