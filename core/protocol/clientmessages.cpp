// Client -> server messages: hello and the requests.
#include "protocol/messages.h"

#include "format/chunkmanifest.h"
#include "protocol/jsonfields.h"

#include <QJsonDocument>
#include <cmath>
#include <iterator>

namespace surfing::protocol {

namespace {

struct TypeName {
    ClientMessageType type;
    const char *name;
};
constexpr TypeName kClientTypes[] = {
    {ClientMessageType::Hello, "hello"},   {ClientMessageType::Manifest, "manifest"},
    {ClientMessageType::Get, "get"},       {ClientMessageType::Cancel, "cancel"},
    {ClientMessageType::Ping, "ping"},     {ClientMessageType::Stats, "stats"},
};

// A client's string shown in an error: at most `maxChars` characters, each control, format
// (bidi overrides and the like), surrogate or unassigned one written as \uXXXX, so the message
// reaches the client whole (QJsonDocument ends a string at a NUL) and prints as it reads.
QString printable(const QString &text, int maxChars)
{
    QString out;
    for (const QChar c : text.left(maxChars)) {
        const QChar::Category cat = c.category();
        if (cat == QChar::Other_Control || cat == QChar::Other_Format || cat == QChar::Other_Surrogate
            || cat == QChar::Other_NotAssigned || cat == QChar::Separator_Line || cat == QChar::Separator_Paragraph)
            out += QStringLiteral("\\u%1").arg(c.unicode(), 4, 16, QLatin1Char('0'));
        else
            out += c;
    }
    if (text.size() > maxChars)
        out += QStringLiteral("...");
    return out;
}

QByteArray compact(const QJsonObject &o)
{
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

Hello parseHello(const JsonFields &f)
{
    Hello hello;
    hello.protocol = int(f.integer("protocol", 0, 1 << 30));
    hello.client = f.optionalString("client", 256).value_or(QString());
    hello.token = f.optionalString("token", kMaxTokenLength).value_or(QString());
    hello.model = f.optionalString("model", kMaxModelNameLength).value_or(QString());
    if (f.has("model") && !isValidModelName(hello.model))
        f.fail("model", QStringLiteral("is not a valid model name"));
    return hello;
}

void parseGetAddress(const JsonFields &f, Request &r)
{
    const bool byName = f.has("chunk");
    const bool byKind = f.has("kind");
    const bool byFile = f.has("file");
    if (int(byName) + int(byKind) + int(byFile) != 1)
        f.fail(byName ? "kind" : "chunk", QStringLiteral("a get names exactly one of 'chunk', 'kind' (+ 'index') or 'file'"));
    if (byFile) {
        r.file = f.string("file", 255);
        if (!isSafeName(r.file))
            f.fail("file", QStringLiteral("is not a valid file name (letters, digits, '_', '-', '.'; no '..')"));
        return;
    }
    if (byName) {
        r.chunk = f.string("chunk", 255);
        if (!isSafeName(r.chunk))
            f.fail("chunk", QStringLiteral("is not a valid chunk name (letters, digits, '_', '-', '.'; no '..')"));
        if (f.has("index"))
            f.fail("index", QStringLiteral("goes with 'kind', not with 'chunk'"));
        return;
    }
    r.kind = f.string("kind", 64);
    if (!isSafeName(r.kind))
        f.fail("kind", QStringLiteral("is not a valid chunk kind"));
    r.index = int(f.optionalInteger("index", 0, kMaxChunkIndex).value_or(-1));
}

Request parseRequest(ClientMessageType type, JsonFields &f)
{
    Request r;
    r.type = type;
    r.id = quint32(f.integer("id", 1, 4294967295LL));
    f.setRequestId(r.id);
    if (f.has("model")) {
        r.model = f.string("model", kMaxModelNameLength);
        if (!isValidModelName(r.model))
            f.fail("model", QStringLiteral("is not a valid model name"));
    }
    if (type == ClientMessageType::Get)
        parseGetAddress(f, r);
    return r;
}

} // namespace

bool isValidModelName(const QString &name)
{
    if (name.isEmpty() || name.size() > kMaxModelNameLength)
        return false;
    for (QChar c : name) {
        if (c.unicode() < 0x20 || c.unicode() == 0x7f || c.category() == QChar::Other_Format
            || c.category() == QChar::Other_NotAssigned)
            return false;
    }
    return true;
}

bool isValidRequestId(double value)
{
    return std::isfinite(value) && std::floor(value) == value && value >= 1 && value <= 4294967295.0;
}

QString clientMessageTypeName(ClientMessageType type)
{
    for (const TypeName &t : kClientTypes) {
        if (t.type == type)
            return QLatin1String(t.name);
    }
    return QString();
}

QByteArray encodeHello(const Hello &hello)
{
    QJsonObject o{{"type", "hello"}, {"protocol", hello.protocol}};
    if (!hello.client.isEmpty())
        o.insert(QLatin1String("client"), hello.client);
    if (!hello.token.isEmpty())
        o.insert(QLatin1String("token"), hello.token);
    if (!hello.model.isEmpty())
        o.insert(QLatin1String("model"), hello.model);
    return compact(o);
}

QByteArray encodeRequest(const Request &request)
{
    QJsonObject o{{"type", clientMessageTypeName(request.type)}, {"id", double(request.id)}};
    if (!request.model.isEmpty())
        o.insert(QLatin1String("model"), request.model);
    if (request.type == ClientMessageType::Get) {
        if (!request.chunk.isEmpty()) {
            o.insert(QLatin1String("chunk"), request.chunk);
        } else {
            o.insert(QLatin1String("kind"), request.kind);
            o.insert(QLatin1String("index"), request.index >= 0 ? QJsonValue(request.index) : QJsonValue());
        }
    }
    return compact(o);
}

ClientMessage parseClientMessage(QByteArrayView text)
{
    const QJsonObject o = parseJsonObject(text, kMaxClientTextBytes);
    const QJsonValue typeValue = o.value(QLatin1String("type"));
    // Read the id early so even an unknown type's error can name the request.
    const double idValue = o.value(QLatin1String("id")).toDouble(0);
    const quint32 id = isValidRequestId(idValue) ? quint32(idValue) : 0;
    if (!typeValue.isString())
        throw ProtocolError(ErrorCode::BadRequest, QStringLiteral("message has no string field 'type'"), id);
    const QString typeName = typeValue.toString();
    for (const TypeName &t : kClientTypes) {
        if (typeName != QLatin1String(t.name))
            continue;
        ClientMessage m;
        m.type = t.type;
        JsonFields f(o, typeName);
        if (t.type == ClientMessageType::Hello)
            m.hello = parseHello(f);
        else
            m.request = parseRequest(t.type, f);
        return m;
    }
    throw ProtocolError(ErrorCode::BadRequest,
                        QStringLiteral("unknown message type '%1' (expected hello, manifest, get, cancel, ping or stats)")
                            .arg(printable(typeName, 64)),
                        id);
}

} // namespace surfing::protocol
