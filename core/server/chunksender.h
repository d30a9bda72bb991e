// Sends the chunks of one connection: a JSON header, then binary pieces of at most
// max_piece_bytes, the transfer with the fewest pieces left first (in practice: in the order
// they were asked for, small replies ahead of large ones). It keeps at most a few pieces
// queued in the socket (watching bytesToWrite) so a 64 MiB chunk is never copied into the
// socket buffer at once, and it paces against an optional server-wide bandwidth bucket.
// Given the TCP (or TLS) socket under the WebSocket, it writes the header and the pieces there
// as WebSocket frames straight from the chunk's bytes, the header and as many pieces as fit in
// one writev(): through QWebSocket::sendBinaryMessage a piece is copied three times in user
// space (our message, Qt's copy for masking, the socket buffer), which made a 64 MiB fetch
// CPU-bound on the server at about half of raw TCP; and a header sent through QWebSocket sits
// in the socket's buffer until the next event-loop turn, so every piece behind it was copied
// there too. Pieces of chunks large enough go by reference, not copied (server/splicedwriter.h;
// SURFING_SPLICE=off turns that off).
#pragma once

#include "protocol/messages.h"
#include "protocol/piece.h"
#include "server/splicedwriter.h"

#include <QByteArray>
#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QPointer>
#include <QTimer>
#include <deque>
#include <memory>
#include <vector>

class QTcpSocket;
class QWebSocket;

namespace surfing {

class TokenBucket;

class ChunkSender : public QObject
{
    Q_OBJECT
public:
    // `bandwidth` (may be null) is shared by every connection of the server. `wire` (may be
    // null: pieces then go through `socket`) is the connection under `socket`.
    ChunkSender(QWebSocket *socket, QTcpSocket *wire, int maxPieceBytes, TokenBucket *bandwidth, QObject *parent = nullptr);
    ~ChunkSender() override;

    // Sends the header now and the pieces as the socket drains. `bytes` must be header.size long.
    void start(const protocol::ChunkHeader &header, const QByteArray &bytes);
    // Drops a transfer; true when it was still sending.
    bool cancel(quint32 id);
    void clear();
    int activeCount() const { return int(m_transfers.size()); }

Q_SIGNALS:
    void piecesSent(qint64 payloadBytes);
    void transferFinished(quint32 id);

private:
    struct Transfer {
        QByteArray bytes;
        quint32 pieces = 0;
        quint32 next = 0;
    };

    // One message on its way out: `body` (a chunk header's JSON, or a piece header), then
    // `payload` (a view into a chunk's bytes, valid until the frame is written).
    struct Frame {
        protocol::FrameType type;
        QByteArray body;
        QByteArrayView payload;
        bool payloadByReference = false; // may be spliced (SplicedWriter::Part::byReference)
    };

    void pump();
    qint64 queuedBytes() const;
    bool writesDirectly() const; // plain TCP under the WebSocket: writev() from the chunks' bytes
    void writeFrames(const std::vector<Frame> &frames);
    void writeToWire(const std::vector<Frame> &frames);
    Frame nextPiece(quint32 id, bool *last);
    quint32 nextTransfer() const; // of m_ready, which must not be empty
    qint64 nextPieceBytes(quint32 id) const;

    QWebSocket *m_socket;
    QPointer<QTcpSocket> m_wire;
    int m_maxPieceBytes;
    TokenBucket *m_bandwidth;
    QHash<quint32, Transfer> m_transfers;
    std::deque<quint32> m_ready; // transfers with pieces to send, in the order they were asked for
    std::vector<Frame> m_headers; // chunk headers not yet written
    QTimer m_paceTimer;
    bool m_pumping = false;
    std::unique_ptr<SplicedWriter> m_splicer; // writing directly, unless SURFING_SPLICE=off
};

} // namespace surfing
