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

// The u32 request id and u32 piece index that open a piece.
QByteArray encodePieceHeader(quint32 requestId, quint32 index);

// WebSocket frame opcodes (RFC 6455 section 5.2).
enum class FrameType { Continuation = 0x0, Text = 0x1, Binary = 0x2, Close = 0x8, Ping = 0x9, Pong = 0xA };

// The header of a final WebSocket frame with `length` bytes of payload: unmasked, as a server
// writes it, or with `mask` as a client must. Lets the server write frames straight into its
// TCP socket from the chunk's own bytes, instead of through QWebSocket's copies.
QByteArray encodeFrameHeader(FrameType type, quint64 length, std::optional<quint32> mask = std::nullopt);

// encodeFrameHeader() plus encodePieceHeader(): what goes on the wire before `payloadBytes` of
// payload so that the bytes arrive as the binary message encodePiece() would make.
QByteArray encodePieceFrameHeader(quint32 requestId, quint32 index, qint64 payloadBytes);

// Splits a binary message; nullopt when it is shorter than the header, its payload is larger
// than `maxPieceBytes`, or its request id is 0.
std::optional<Piece> parsePiece(QByteArrayView message, int maxPieceBytes = kMaxPieceBytes);

} // namespace surfing::protocol
