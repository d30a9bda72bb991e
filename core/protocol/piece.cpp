#include "protocol/piece.h"

#include <QtEndian>

namespace surfing::protocol {

quint32 pieceCount(qint64 size, int maxPieceBytes)
{
    if (size <= 0 || maxPieceBytes <= 0)
        return 0;
    return quint32((size + maxPieceBytes - 1) / maxPieceBytes);
}

QByteArray encodePiece(quint32 requestId, quint32 index, QByteArrayView payload)
{
    QByteArray message(kPieceHeaderBytes + payload.size(), Qt::Uninitialized);
    qToLittleEndian<quint32>(requestId, message.data());
    qToLittleEndian<quint32>(index, message.data() + 4);
    if (!payload.isEmpty())
        memcpy(message.data() + kPieceHeaderBytes, payload.data(), size_t(payload.size()));
    return message;
}

QByteArray encodePieceFrameHeader(quint32 requestId, quint32 index, qint64 payloadBytes)
{
    const quint64 length = quint64(kPieceHeaderBytes + payloadBytes);
    QByteArray header;
    header.reserve(2 + 8 + kPieceHeaderBytes);
    header.append(char(0x82)); // FIN, opcode 2 (binary)
    if (length <= 125) {
        header.append(char(length));
    } else if (length <= 0xffff) {
        header.append(char(126));
        char size[2];
        qToBigEndian<quint16>(quint16(length), size);
        header.append(size, 2);
    } else {
        header.append(char(127));
        char size[8];
        qToBigEndian<quint64>(length, size);
        header.append(size, 8);
    }
    char piece[kPieceHeaderBytes];
    qToLittleEndian<quint32>(requestId, piece);
    qToLittleEndian<quint32>(index, piece + 4);
    header.append(piece, kPieceHeaderBytes);
    return header;
}

std::optional<Piece> parsePiece(QByteArrayView message, int maxPieceBytes)
{
    if (message.size() < kPieceHeaderBytes || message.size() - kPieceHeaderBytes > maxPieceBytes)
        return std::nullopt;
    Piece piece;
    piece.requestId = qFromLittleEndian<quint32>(message.data());
    piece.index = qFromLittleEndian<quint32>(message.data() + 4);
    if (piece.requestId == 0)
        return std::nullopt;
    piece.payload = message.sliced(kPieceHeaderBytes);
    return piece;
}

} // namespace surfing::protocol
