// Server -> client messages: welcome, replies, chunk headers and errors.
#include "protocol/messages.h"

#include "format/chunkcodec.h"
#include "format/chunkmanifest.h"
#include "protocol/jsonfields.h"
#include "protocol/piece.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace surfing::protocol {

namespace {

constexpr qint64 kMaxId = 4294967295LL;
constexpr qint64 kMaxChunkBytes = qint64(1) << 40;

QByteArray compact(const QJsonObject &o)
{
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

bool isLowerHex(const QByteArray &s, int length)
{
    if (s.size() != length)
        return false;
    for (char c : s) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

Welcome parseWelcome(const JsonFields &f)
{
    Welcome w;
    w.protocol = int(f.integer("protocol", 0, 1 << 30));
    w.server = f.optionalString("server", 256).value_or(QString());
    for (const QJsonValue &v : f.array("models")) {
        if (!v.isString() || !isValidModelName(v.toString()))
            f.fail("models", QStringLiteral("must list valid model names"));
        w.models.append(v.toString());
    }
    w.defaultModel = f.optionalString("default_model", kMaxModelNameLength).value_or(QString());
    w.maxPieceBytes = int(f.integer("max_piece_bytes", 1, 64 * 1024 * 1024));
    w.maxInFlight = int(f.integer("max_in_flight", 1, 1 << 20));
    return w;
}

ChunkHeader parseChunkHeader(quint32 id, const JsonFields &f)
{
    ChunkHeader h;
    h.id = id;
    h.model = f.string("model", kMaxModelNameLength);
    h.chunk = f.string("chunk", 255);
    if (!isSafeName(h.chunk))
        f.fail("chunk", QStringLiteral("is not a valid chunk name"));
    h.size = f.integer("size", 0, kMaxChunkBytes);
    h.rawSize = f.integer("raw_size", 0, kMaxChunkBytes);
    h.codec = f.string("codec", 64);
    if (!codecFromName(h.codec))
        f.fail("codec", QStringLiteral("names an unknown codec '%1'").arg(h.codec.left(64)));
    h.sha256 = f.string("sha256", 64).toLatin1();
    if (!isLowerHex(h.sha256, 64))
        f.fail("sha256", QStringLiteral("must be 64 lower-case hex characters"));
    h.pieces = quint32(f.integer("pieces", 0, kMaxId));
    return h;
}

ErrorReply parseErrorReply(quint32 id, const JsonFields &f)
{
    ErrorReply e;
    e.id = id;
    const QString code = f.string("code", 64);
    const std::optional<ErrorCode> known = errorCodeFromName(code);
    // A code from a newer server is still an error; treat it as internal (retryable).
    e.code = known.value_or(ErrorCode::Internal);
    e.message = f.optionalString("message", 64 * 1024).value_or(code);
    e.retryAfterMs = f.optionalInteger("retry_after_ms", 0, 24LL * 3600 * 1000).value_or(-1);
    if (f.has("protocols")) {
        for (const QJsonValue &v : f.array("protocols"))
            e.protocols.append(v.toInt());
    }
    return e;
}

} // namespace

QByteArray encodeWelcome(const Welcome &w)
{
    QJsonObject o{{"type", "welcome"},
                  {"protocol", w.protocol},
                  {"server", w.server},
                  {"models", QJsonArray::fromStringList(w.models)},
                  {"max_piece_bytes", w.maxPieceBytes},
                  {"max_in_flight", w.maxInFlight}};
    o.insert(QLatin1String("default_model"), w.defaultModel.isEmpty() ? QJsonValue() : QJsonValue(w.defaultModel));
    return compact(o);
}

QByteArray encodeManifestReply(quint32 id, const QString &model, const QJsonObject &manifest)
{
    return compact({{"type", "manifest"}, {"id", double(id)}, {"model", model}, {"manifest", manifest}});
}

QByteArray encodeChunkHeader(const ChunkHeader &h)
{
    return compact({{"type", "chunk"},
                    {"id", double(h.id)},
                    {"model", h.model},
                    {"chunk", h.chunk},
                    {"size", double(h.size)},
                    {"raw_size", double(h.rawSize)},
                    {"codec", h.codec},
                    {"sha256", QString::fromLatin1(h.sha256)},
                    {"pieces", double(h.pieces)}});
}

QByteArray encodeCancelled(quint32 id)
{
    return compact({{"type", "cancelled"}, {"id", double(id)}});
}

QByteArray encodePong(quint32 id)
{
    return compact({{"type", "pong"}, {"id", double(id)}});
}

QByteArray encodeStatsReply(quint32 id, const QJsonObject &stats)
{
    return compact({{"type", "stats"}, {"id", double(id)}, {"stats", stats}});
}

QByteArray encodeError(const ErrorReply &e)
{
    QJsonObject o{{"type", "error"}, {"code", errorCodeName(e.code)}, {"message", e.message}};
    if (e.id != 0)
        o.insert(QLatin1String("id"), double(e.id));
    if (e.retryAfterMs >= 0)
        o.insert(QLatin1String("retry_after_ms"), double(e.retryAfterMs));
    if (!e.protocols.isEmpty()) {
        QJsonArray versions;
        for (int v : e.protocols)
            versions.append(v);
        o.insert(QLatin1String("protocols"), versions);
    }
    return compact(o);
}

ServerMessage parseServerMessage(QByteArrayView text)
{
    const QJsonObject o = parseJsonObject(text, kMaxServerTextBytes);
    JsonFields f(o, QStringLiteral("server"));
    const QString type = f.string("type", 64);
    JsonFields typed(o, type);
    ServerMessage m;
    if (type == QLatin1String("welcome")) {
        m.type = ServerMessageType::Welcome;
        m.welcome = parseWelcome(typed);
        return m;
    }
    if (type == QLatin1String("error")) {
        m.type = ServerMessageType::Error;
        m.id = quint32(typed.optionalInteger("id", 1, kMaxId).value_or(0));
        m.error = parseErrorReply(m.id, typed);
        return m;
    }
    m.id = quint32(typed.integer("id", 1, kMaxId));
    typed.setRequestId(m.id);
    if (type == QLatin1String("manifest")) {
        m.type = ServerMessageType::Manifest;
        m.model = typed.string("model", kMaxModelNameLength);
        m.manifest = typed.object("manifest");
    } else if (type == QLatin1String("chunk")) {
        m.type = ServerMessageType::Chunk;
        m.chunk = parseChunkHeader(m.id, typed);
    } else if (type == QLatin1String("cancelled")) {
        m.type = ServerMessageType::Cancelled;
    } else if (type == QLatin1String("pong")) {
        m.type = ServerMessageType::Pong;
    } else if (type == QLatin1String("stats")) {
        m.type = ServerMessageType::Stats;
        m.stats = typed.object("stats");
    } else {
        throw ProtocolError(ErrorCode::BadRequest, QStringLiteral("unknown server message type '%1'").arg(type.left(64)), m.id);
    }
    return m;
}

} // namespace surfing::protocol
