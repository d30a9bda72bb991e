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
    QByteArray message = encodePieceHeader(requestId, index);
    message.append(payload);
    return message;
}

QByteArray encodeFrameHeader(FrameType type, quint64 length, std::optional<quint32> mask)
{
    QByteArray out;
    out.reserve(2 + 8 + 4 + kPieceHeaderBytes);
    out.append(char(0x80 | int(type))); // FIN
    const char masked = mask ? char(0x80) : char(0);
    if (length <= 125) {
        out.append(char(masked | char(length)));
    } else if (length <= 0xffff) {
        out.append(char(masked | 126));
        char size[2];
        qToBigEndian<quint16>(quint16(length), size);
        out.append(size, 2);
    } else {
        out.append(char(masked | 127));
        char size[8];
        qToBigEndian<quint64>(length, size);
        out.append(size, 8);
    }
    if (mask) {
        char key[4];
        qToBigEndian<quint32>(*mask, key);
        out.append(key, 4);
    }
    return out;
}

QByteArray encodePieceHeader(quint32 requestId, quint32 index)
{
    QByteArray header(kPieceHeaderBytes, Qt::Uninitialized);
    qToLittleEndian<quint32>(requestId, header.data());
    qToLittleEndian<quint32>(index, header.data() + 4);
    return header;
}

QByteArray encodePieceFrameHeader(quint32 requestId, quint32 index, qint64 payloadBytes)
{
    return encodeFrameHeader(FrameType::Binary, quint64(kPieceHeaderBytes + payloadBytes)) + encodePieceHeader(requestId, index);
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
