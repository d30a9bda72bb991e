// The JSON control messages of the wire protocol (docs/protocol.md is the spec), as structs with
// encoders and strict parsers. Shared by WeightServer and WeightClient.
//
// Every parser treats its input as hostile: it checks the size, the JSON shape, the type and
// range of every field it reads, and throws ProtocolError (code bad_request, with the request id
// when one could be read) naming the field at fault. Unknown fields are ignored, as the spec's
// versioning rule asks.
#pragma once

#include "protocol/errorcode.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

namespace surfing::protocol {

constexpr int kProtocolVersion = 1;
// Largest text message a client may send; the server answers larger ones with bad_request.
constexpr qint64 kMaxClientTextBytes = 64 * 1024;
// Largest text message a server sends (a manifest reply can be big); clients set their
// incoming message limit (WebSocketClient::setMaxIncomingMessageBytes) to at least this.
constexpr qint64 kMaxServerTextBytes = 16 * 1024 * 1024;
constexpr int kDefaultMaxInFlight = 64;
constexpr int kMaxModelNameLength = 255;
constexpr int kMaxTokenLength = 4096;
constexpr int kMaxChunkIndex = 1000000;

// ---- client -> server ---------------------------------------------------------------------

enum class ClientMessageType { Hello, Manifest, Get, Cancel, Ping, Stats };

struct Hello {
    int protocol = kProtocolVersion;
    QString client; // free text, e.g. "surfing-cli 0.1.0"
    QString token;  // empty: none sent
    QString model;  // empty: none asked for
};

struct Request {
    ClientMessageType type = ClientMessageType::Ping;
    quint32 id = 0;  // 1..4294967295; for Cancel, the id of the get to cancel
    QString model;   // empty: the connection's default model
    QString chunk;   // Get by name ("layer_3") ...
    QString kind;    // ... or, when chunk is empty, by kind + index ("layer", 3)
    int index = -1;  // -1: an unnumbered unit ("pooler")
    QString file;    // ... or a file listed in the manifest's "files" ("config.json")
};

struct ClientMessage {
    ClientMessageType type = ClientMessageType::Ping;
    Hello hello;     // when type == Hello
    Request request; // otherwise
};

QString clientMessageTypeName(ClientMessageType type); // "hello", "get", ...

QByteArray encodeHello(const Hello &hello);
QByteArray encodeRequest(const Request &request);

// Throws ProtocolError(BadRequest) for anything that is not a valid client message.
ClientMessage parseClientMessage(QByteArrayView text);

// ---- server -> client ---------------------------------------------------------------------

enum class ServerMessageType { Welcome, Manifest, Chunk, Cancelled, Pong, Stats, Error };

struct Welcome {
    int protocol = kProtocolVersion;
    QString server;       // "surfing 0.1.0"
    QStringList models;
    QString defaultModel; // empty when the server has none
    int maxPieceBytes = 256 * 1024;
    int maxInFlight = kDefaultMaxInFlight;
};

// Announces a chunk; `pieces` binary messages (protocol/piece.h) follow.
struct ChunkHeader {
    quint32 id = 0;
    QString model;
    QString chunk;
    qint64 size = 0;    // stored bytes (sum of the payloads)
    qint64 rawSize = 0; // decoded safetensors bytes
    QString codec;      // codecName() of format/chunkcodec.h
    QByteArray sha256;  // 64 lower-case hex characters of the stored bytes
    quint32 pieces = 0;
};

struct ErrorReply {
    quint32 id = 0; // 0: not an answer to one request
    ErrorCode code = ErrorCode::Internal;
    QString message;
    qint64 retryAfterMs = -1;  // rate_limited only
    QList<int> protocols;      // bad_request about the version: what the server speaks
};

struct ServerMessage {
    ServerMessageType type = ServerMessageType::Error;
    quint32 id = 0;          // every type but Welcome (and Error without an id)
    Welcome welcome;         // Welcome
    QString model;           // Manifest
    QJsonObject manifest;    // Manifest: chunk_info.json as an object
    ChunkHeader chunk;       // Chunk
    QJsonObject stats;       // Stats
    ErrorReply error;        // Error
};

QByteArray encodeWelcome(const Welcome &welcome);
QByteArray encodeManifestReply(quint32 id, const QString &model, const QJsonObject &manifest);
QByteArray encodeChunkHeader(const ChunkHeader &header);
QByteArray encodeCancelled(quint32 id);
QByteArray encodePong(quint32 id);
QByteArray encodeStatsReply(quint32 id, const QJsonObject &stats);
QByteArray encodeError(const ErrorReply &error);

// Throws ProtocolError(BadRequest) for anything that is not a valid server message (a client
// treats that as a broken server, not as a retryable failure).
ServerMessage parseServerMessage(QByteArrayView text);

// Field checks shared with the server (the URL path names a model too).
bool isValidModelName(const QString &name); // 1..255 characters, no control characters
bool isValidRequestId(double value);        // an integer in 1..4294967295

} // namespace surfing::protocol
