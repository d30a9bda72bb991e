#include "server/chunksender.h"

#include "protocol/piece.h"
#include "server/tokenbucket.h"

#include <QSslSocket>
#include <QTcpSocket>
#include <QWebSocket>

#include <sys/uio.h>

namespace surfing {

namespace {
// Enough queued bytes to keep the kernel busy between bytesWritten signals, few enough that
// memory stays flat however large the chunk.
constexpr qint64 kHighWaterBytes = 2 * 1024 * 1024;
// When the kernel takes pieces as fast as they come, one pump() stops after this many bytes and
// lets the event loop serve the other connections before it goes on.
constexpr qint64 kBytesPerTurn = 4 * 1024 * 1024;
}

ChunkSender::ChunkSender(QWebSocket *socket, QTcpSocket *wire, int maxPieceBytes, TokenBucket *bandwidth, QObject *parent)
    : QObject(parent), m_socket(socket), m_wire(wire), m_maxPieceBytes(maxPieceBytes), m_bandwidth(bandwidth)
{
    m_paceTimer.setSingleShot(true);
    connect(&m_paceTimer, &QTimer::timeout, this, &ChunkSender::pump);
    connect(m_socket, &QWebSocket::bytesWritten, this, &ChunkSender::pump);
    if (m_wire)
        connect(m_wire, &QIODevice::bytesWritten, this, &ChunkSender::pump);
}

void ChunkSender::start(const protocol::ChunkHeader &header, const QByteArray &bytes)
{
    m_socket->sendTextMessage(QString::fromUtf8(protocol::encodeChunkHeader(header)));
    if (header.pieces == 0) {
        Q_EMIT transferFinished(header.id);
        return;
    }
    m_transfers.insert(header.id, Transfer{bytes, header.pieces, 0});
    m_ready.push_back(header.id);
    pump();
}

bool ChunkSender::cancel(quint32 id)
{
    if (!m_transfers.remove(id))
        return false;
    m_ready.erase(std::remove(m_ready.begin(), m_ready.end(), id), m_ready.end());
    return true;
}

void ChunkSender::clear()
{
    m_transfers.clear();
    m_ready.clear();
    m_paceTimer.stop();
}

void ChunkSender::pump()
{
    if (m_pumping) // sendBinaryMessage can emit bytesWritten synchronously
        return;
    m_pumping = true;
    qint64 thisTurn = 0;
    while (!m_ready.empty() && m_socket->isValid() && queuedBytes() < kHighWaterBytes) {
        if (thisTurn >= kBytesPerTurn) {
            QMetaObject::invokeMethod(this, &ChunkSender::pump, Qt::QueuedConnection);
            break;
        }
        if (m_bandwidth && m_bandwidth->isEnabled()) {
            const qint64 wait = m_bandwidth->take(m_maxPieceBytes, TokenBucket::steadyNowMs());
            if (wait > 0) {
                if (!m_paceTimer.isActive())
                    m_paceTimer.start(int(qMin<qint64>(wait, 1000)));
                break;
            }
        }
        const quint32 id = m_ready.front();
        m_ready.pop_front();
        thisTurn += m_maxPieceBytes;
        if (sendNextPiece(id)) {
            m_transfers.remove(id);
            Q_EMIT transferFinished(id);
        } else {
            m_ready.push_back(id);
        }
    }
    m_pumping = false;
}

void ChunkSender::writeFrame(const QByteArray &header, QByteArrayView payload)
{
    qint64 sent = 0;
    // Plain TCP with nothing queued: one writev() from the chunk's bytes, no copy in user
    // space. What the kernel does not take now is queued in the socket like any write.
    if (m_wire->bytesToWrite() == 0 && !qobject_cast<QSslSocket *>(m_wire.data())) {
        iovec parts[2] = {{const_cast<char *>(header.constData()), size_t(header.size())},
                          {const_cast<char *>(payload.data()), size_t(payload.size())}};
        // On an error (other than a full buffer) the socket meets it again below and reports it.
        sent = qMax<qint64>(0, ::writev(int(m_wire->socketDescriptor()), parts, 2));
    }
    // Both writes land in the socket's buffer before control returns to the event loop, so
    // nothing QWebSocket writes can come between them.
    if (sent < header.size())
        m_wire->write(header.constData() + sent, header.size() - sent);
    const qint64 payloadSent = qMax<qint64>(0, sent - header.size());
    if (payloadSent < payload.size())
        m_wire->write(payload.data() + payloadSent, payload.size() - payloadSent);
}

qint64 ChunkSender::queuedBytes() const
{
    return m_wire ? m_wire->bytesToWrite() : m_socket->bytesToWrite();
}

bool ChunkSender::sendNextPiece(quint32 id)
{
    Transfer &t = m_transfers[id];
    const qint64 offset = qint64(t.next) * m_maxPieceBytes;
    const qint64 length = qMin<qint64>(m_maxPieceBytes, t.bytes.size() - offset);
    const QByteArrayView payload(t.bytes.constData() + offset, length);
    if (m_wire) {
        writeFrame(protocol::encodePieceFrameHeader(id, t.next, length), payload);
    } else {
        m_socket->sendBinaryMessage(protocol::encodePiece(id, t.next, payload));
    }
    ++t.next;
    Q_EMIT piecesSent(length);
    return t.next >= t.pieces;
}

} // namespace surfing
