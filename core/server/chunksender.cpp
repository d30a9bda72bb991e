#include "server/chunksender.h"

#include "protocol/transfermemory.h"
#include "server/tokenbucket.h"

#include <QSslSocket>
#include <QTcpSocket>
#include <QWebSocket>

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <limits>

namespace surfing {

namespace {

// One gathering write; MSG_NOSIGNAL: a peer that vanished costs an error on its socket, not a
// SIGPIPE (the desktop app hosts its server in-process and does not ignore the signal).
qint64 writeVector(int fd, const std::vector<SplicedWriter::Part> &parts)
{
    std::vector<iovec> vector;
    vector.reserve(parts.size());
    for (const SplicedWriter::Part &part : parts)
        vector.push_back({const_cast<char *>(part.data), size_t(part.size)});
    msghdr message{};
    message.msg_iov = vector.data();
    message.msg_iovlen = vector.size();
    return qMax<qint64>(0, ::sendmsg(fd, &message, MSG_NOSIGNAL));
}

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
    if (writesDirectly() && qgetenv("SURFING_SPLICE") != "off") {
        m_splicer = std::make_unique<SplicedWriter>();
        if (!m_splicer->isValid())
            m_splicer.reset();
    }
}

ChunkSender::~ChunkSender() = default;

void ChunkSender::start(const protocol::ChunkHeader &header, const QByteArray &bytes)
{
    m_headers.push_back({protocol::FrameType::Text, protocol::encodeChunkHeader(header), {}});
    if (header.pieces > 0) {
        m_transfers.insert(header.id, Transfer{bytes, header.pieces, 0});
        m_ready.push_back(header.id);
    }
    pump();
    if (header.pieces == 0)
        Q_EMIT transferFinished(header.id);
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
    m_headers.clear();
    m_paceTimer.stop();
}

// The transfer with the fewest pieces left, the earliest asked for among equals: a client asks
// for chunks in the order it needs them, and each then arrives at the full rate of the link, in
// order, as the first one's compute reads it (client/chunkarrival.h), instead of sharing the
// link with the ones prefetched behind it; a small reply (a file, a norm) is not held up behind
// a large one.
quint32 ChunkSender::nextTransfer() const
{
    quint32 best = m_ready.front();
    qint64 fewest = std::numeric_limits<qint64>::max();
    for (const quint32 id : m_ready) {
        const auto t = m_transfers.constFind(id);
        const qint64 left = qint64(t->pieces) - qint64(t->next);
        if (left < fewest) {
            fewest = left;
            best = id;
        }
    }
    return best;
}

// Writes waiting headers and pieces, the next one from nextTransfer(), in batches of up to
// kHighWaterBytes per write, until the socket has that much queued, kBytesPerTurn went out in
// this turn, or the bandwidth bucket runs dry.
void ChunkSender::pump()
{
    if (m_pumping) // sendBinaryMessage can emit bytesWritten synchronously
        return;
    m_pumping = true;
    qint64 thisTurn = 0;
    bool stop = false;
    const bool direct = writesDirectly();
    while (!stop && m_socket->isValid()) {
        // Written straight from the chunks: while anything waits in the socket's own buffer, what
        // came next would be copied in behind it; wait for that to drain (bytesWritten) instead.
        if (direct && m_wire->bytesToWrite() > 0)
            break;
        std::vector<Frame> batch = std::exchange(m_headers, {});
        std::vector<quint32> finished;
        qint64 batchBytes = 0;
        // Directly: one piece per writev(), so what the kernel does not take (and the socket's
        // buffer gets a copy of, to keep the frames whole and in order) is at most one piece.
        const qint64 room = direct ? 1 : kHighWaterBytes - queuedBytes();
        while (!m_ready.empty() && batchBytes < room) {
            if (thisTurn >= kBytesPerTurn) {
                QMetaObject::invokeMethod(this, &ChunkSender::pump, Qt::QueuedConnection);
                stop = true;
                break;
            }
            const quint32 id = nextTransfer();
            if (m_bandwidth && m_bandwidth->isEnabled()) {
                // The piece's own size: charged a full piece, a 72-byte file cost a quarter of a
                // megabyte of the pace (two seconds at --limit-mbps 1).
                const qint64 wait = m_bandwidth->take(double(nextPieceBytes(id)), TokenBucket::steadyNowMs());
                if (wait > 0) {
                    if (!m_paceTimer.isActive())
                        m_paceTimer.start(int(qMin<qint64>(wait, 1000)));
                    stop = true;
                    break;
                }
            }
            bool last = false;
            batch.push_back(nextPiece(id, &last));
            batchBytes += batch.back().payload.size();
            thisTurn += batch.back().payload.size();
            if (last) {
                finished.push_back(id);
                m_ready.erase(std::find(m_ready.begin(), m_ready.end(), id));
            }
        }
        if (batch.empty())
            break;
        writeFrames(batch);
        // Only now: the batch points into these transfers' bytes.
        for (quint32 id : finished)
            m_transfers.remove(id);
        if (batchBytes > 0)
            Q_EMIT piecesSent(batchBytes);
        for (quint32 id : finished)
            Q_EMIT transferFinished(id);
        stop = stop || m_ready.empty() || (!direct && queuedBytes() >= kHighWaterBytes);
    }
    m_pumping = false;
}

qint64 ChunkSender::nextPieceBytes(quint32 id) const
{
    const auto it = m_transfers.constFind(id);
    return it == m_transfers.cend() ? 0 : qMin<qint64>(m_maxPieceBytes, it->bytes.size() - qint64(it->next) * m_maxPieceBytes);
}

ChunkSender::Frame ChunkSender::nextPiece(quint32 id, bool *last)
{
    const qint64 length = nextPieceBytes(id);
    Transfer &t = m_transfers[id];
    const qint64 offset = qint64(t.next) * m_maxPieceBytes;
    // A chunk's bytes are allocated at their size, written once (read from storage) and shared
    // read-only after; a large one is its own mapping, unmapped when freed (SplicedWriter).
    const bool byReference = t.bytes.size() >= protocol::ownMappingMinBytes();
    Frame piece{protocol::FrameType::Binary, protocol::encodePieceHeader(id, t.next),
                QByteArrayView(t.bytes.constData() + offset, length), byReference};
    ++t.next;
    *last = t.next >= t.pieces;
    return piece;
}

void ChunkSender::writeFrames(const std::vector<Frame> &frames)
{
    if (m_wire)
        return writeToWire(frames);
    for (const Frame &f : frames) {
        if (f.type == protocol::FrameType::Text)
            m_socket->sendTextMessage(QString::fromUtf8(f.body));
        else // the piece header, then the payload: what protocol::encodePiece() makes
            m_socket->sendBinaryMessage(QByteArray(f.body).append(f.payload));
    }
}

void ChunkSender::writeToWire(const std::vector<Frame> &frames)
{
    // Frame header and body together: small, so copying them into one piece is cheap.
    std::vector<QByteArray> heads;
    heads.reserve(frames.size());
    for (const Frame &f : frames)
        heads.push_back(protocol::encodeFrameHeader(f.type, quint64(f.body.size() + f.payload.size())) + f.body);
    std::vector<SplicedWriter::Part> parts;
    parts.reserve(2 * frames.size());
    bool anyByReference = false;
    for (size_t i = 0; i < frames.size(); ++i) {
        parts.push_back({heads[i].constData(), heads[i].size(), false});
        if (!frames[i].payload.isEmpty())
            parts.push_back({frames[i].payload.data(), frames[i].payload.size(), frames[i].payloadByReference});
        anyByReference = anyByReference || frames[i].payloadByReference;
    }
    qint64 sent = 0;
    // Plain TCP with nothing queued: straight from the chunk's bytes, by reference or with one
    // gathering write, no copy in user space. What the kernel does not take now is queued in the socket
    // like any write. On an error (other than a full buffer) the socket meets it again below.
    if (m_wire->bytesToWrite() == 0 && writesDirectly()) {
        if (m_splicer && anyByReference && m_splicer->isValid())
            sent = m_splicer->write(int(m_wire->socketDescriptor()), parts);
        else
            sent = writeVector(int(m_wire->socketDescriptor()), parts);
    }
    // The rest lands in the socket's buffer before control returns to the event loop, so
    // nothing QWebSocket writes can come between these frames.
    for (const SplicedWriter::Part &part : parts) {
        if (sent < part.size)
            m_wire->write(part.data + sent, part.size - sent);
        sent = qMax<qint64>(0, sent - part.size);
    }
}

bool ChunkSender::writesDirectly() const
{
    return m_wire && !qobject_cast<QSslSocket *>(m_wire.data());
}

qint64 ChunkSender::queuedBytes() const
{
    return m_wire ? m_wire->bytesToWrite() : m_socket->bytesToWrite();
}

} // namespace surfing
