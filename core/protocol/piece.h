// The binary messages that carry a chunk's bytes (docs/protocol.md, "A chunk on the wire"):
// u32 request id, u32 piece index (both little-endian), then at most kMaxPieceBytes of payload.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QtGlobal>
#include <optional>

namespace surfing::protocol {

constexpr int kPieceHeaderBytes = 8;
constexpr int kMaxPieceBytes = 256 * 1024;

struct Piece {
    quint32 requestId = 0;
    quint32 index = 0;
    QByteArrayView payload; // points into the message it was parsed from
};

// How many pieces a chunk of `size` stored bytes travels in (0 for an empty chunk).
quint32 pieceCount(qint64 size, int maxPieceBytes = kMaxPieceBytes);

// The header plus `payload` as one binary message.
QByteArray encodePiece(quint32 requestId, quint32 index, QByteArrayView payload);

// What goes on a TCP connection before `payloadBytes` of payload so that the bytes arrive as the
// binary message encodePiece() would make: an unmasked, final WebSocket binary frame header
// (RFC 6455 section 5.2; a server never masks) followed by the piece header. Lets a server
// write a piece straight from the chunk's bytes into its socket.
QByteArray encodePieceFrameHeader(quint32 requestId, quint32 index, qint64 payloadBytes);

// Splits a binary message; nullopt when it is shorter than the header, its payload is larger
// than `maxPieceBytes`, or its request id is 0.
std::optional<Piece> parsePiece(QByteArrayView message, int maxPieceBytes = kMaxPieceBytes);

} // namespace surfing::protocol
