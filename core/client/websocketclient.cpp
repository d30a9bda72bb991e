#include "client/websocketclient.h"

#include "protocol/piece.h"

#include <QLoggingCategory>
#include <QRandomGenerator>
#include <QSslSocket>
#include <QTcpSocket>
#include <QtEndian>

#include <chrono>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

Q_LOGGING_CATEGORY(lcWebSocket, "surfing.client.websocket")

namespace surfing {

using protocol::FrameType;

namespace {

constexpr int kCloseNormal = 1000;
constexpr int kCloseProtocolError = 1002;
constexpr int kCloseTooBig = 1009;

bool isControl(int opcode) { return opcode & 0x8; }

qint64 steadyMs()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

QByteArray closePayload(int code)
{
    char bytes[2];
    qToBigEndian<quint16>(quint16(code), bytes);
    return QByteArray(bytes, 2);
}

} // namespace

WebSocketClient::WebSocketClient(QObject *parent) : QObject(parent) {}

WebSocketClient::~WebSocketClient()
{
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
    }
}

void WebSocketClient::setSslConfiguration(const QSslConfiguration &configuration)
{
    m_ssl = configuration;
    m_hasSsl = true;
}

QAbstractSocket::SocketState WebSocketClient::state() const
{
    switch (m_phase) {
    case Phase::Open: return QAbstractSocket::ConnectedState;
    case Phase::Handshake: return QAbstractSocket::ConnectingState;
    case Phase::Idle:
    case Phase::Ended: break;
    }
    return QAbstractSocket::UnconnectedState;
}

void WebSocketClient::onReadyRead()
{
    if (m_phase == Phase::Handshake && !readHandshake())
        return;
    if (m_phase == Phase::Open)
        readFrames();
}

qint64 WebSocketClient::readSome(char *into, qint64 max)
{
    if (!m_leftover.isEmpty()) {
        const qint64 n = qMin<qint64>(max, m_leftover.size());
        memcpy(into, m_leftover.constData(), size_t(n));
        m_leftover.remove(0, n);
        return n;
    }
    qint64 n = readWithLookahead(into, max);
    if (n == kNotRead)
        n = m_socket->read(into, max); // 0: nothing now
    if (n > 0)
        m_heardAtMs = steadyMs();
    // An unbuffered socket meets the end of the connection in read() and, there, emits nothing.
    if (n < 0)
        end(m_socket->errorString().isEmpty() ? QStringLiteral("the server closed the connection") : m_socket->errorString());
    return n;
}

// One system call for `max` bytes into `into` and up to kLookaheadBytes more into m_leftover: a
// piece's payload and the next frame's header and prefix then arrive together, where they took
// three more reads of a few bytes each (about four reads per 256 KiB piece, ~57,000 a second at
// 3.6 GB/s, on the thread that limits the fetch rate). kNotRead when nothing was read (nothing
// there, the end, an error) or on TLS, whose decrypted bytes QSslSocket holds: m_socket->read()
// then reads, reports, and re-arms Qt's read notifier, which only its reads do.
qint64 WebSocketClient::readWithLookahead(char *into, qint64 max)
{
    if (m_phase != Phase::Open || qobject_cast<QSslSocket *>(m_socket))
        return kNotRead;
    char ahead[kLookaheadBytes];
    iovec parts[2] = {{into, size_t(max)}, {ahead, sizeof ahead}};
    const ssize_t n = ::readv(int(m_socket->socketDescriptor()), parts, 2);
    if (n <= 0)
        return kNotRead;
    if (n > max)
        m_leftover.append(ahead, qsizetype(n - max));
    return qMin<qint64>(n, max);
}

bool WebSocketClient::fillTo(QByteArray &buffer, qsizetype size)
{
    while (buffer.size() < size) {
        const qsizetype had = buffer.size();
        buffer.resize(size);
        const qint64 n = readSome(buffer.data() + had, size - had);
        buffer.resize(had + qMax<qint64>(0, n));
        if (n <= 0)
            return false;
    }
    return true;
}

void WebSocketClient::readFrames()
{
    for (;;) {
        if (m_phase != Phase::Open)
            return;
        bool stepDone = false;
        switch (m_step) {
        case Step::FrameHeader: stepDone = readFrameHeader(); break;
        case Step::Prefix: stepDone = readPrefix(); break;
        case Step::IntoSink: stepDone = readIntoSink(); break;
        case Step::Payload: stepDone = readPayload(); break;
        }
        if (!stepDone)
            return;
    }
}

bool WebSocketClient::readFrameHeader()
{
    if (!fillTo(m_header, 2))
        return false;
    const quint8 first = quint8(m_header[0]), second = quint8(m_header[1]);
    const int lengthCode = second & 0x7f;
    const int lengthBytes = lengthCode == 126 ? 2 : lengthCode == 127 ? 8 : 0;
    if (!fillTo(m_header, 2 + lengthBytes))
        return false;
    quint64 length = quint64(lengthCode);
    if (lengthBytes == 2)
        length = qFromBigEndian<quint16>(m_header.constData() + 2);
    else if (lengthBytes == 8)
        length = qFromBigEndian<quint64>(m_header.constData() + 2);
    m_header.clear();
    m_final = first & 0x80;
    m_opcode = first & 0x0f;
    QString problem;
    if (first & 0x70)
        problem = QStringLiteral("reserved bits set");
    else if (second & 0x80)
        problem = QStringLiteral("a masked frame (servers must not mask)");
    else if (length >> 63)
        problem = QStringLiteral("a frame length with the top bit set");
    else if (isControl(m_opcode) && (m_opcode > int(FrameType::Pong) || !m_final || length > 125))
        problem = QStringLiteral("a bad control frame (opcode %1)").arg(m_opcode);
    else if (!isControl(m_opcode) && m_opcode > int(FrameType::Binary))
        problem = QStringLiteral("a reserved opcode %1").arg(m_opcode);
    else if (m_opcode == int(FrameType::Continuation) && m_messageOpcode == 0)
        problem = QStringLiteral("a continuation frame outside a message");
    else if (!isControl(m_opcode) && m_opcode != int(FrameType::Continuation) && m_messageOpcode != 0)
        problem = QStringLiteral("a new message inside a fragmented one");
    if (!problem.isEmpty()) {
        fail(QStringLiteral("protocol error from %1: %2").arg(m_url.toDisplayString(), problem), kCloseProtocolError);
        return false;
    }
    if (!isControl(m_opcode) && m_opcode != int(FrameType::Continuation))
        m_messageOpcode = m_opcode;
    const bool text = !isControl(m_opcode) && m_messageOpcode == int(FrameType::Text);
    const qint64 limit = text && m_maxTextBytes >= 0 ? m_maxTextBytes : m_maxMessageBytes;
    if (!isControl(m_opcode) && quint64(m_message.size()) + length > quint64(limit)) {
        fail(QStringLiteral("%1 sent a %2 message larger than %3 bytes")
                 .arg(m_url.toDisplayString(), text ? QStringLiteral("text") : QStringLiteral("binary")).arg(limit), kCloseTooBig);
        return false;
    }
    m_frameLeft = qint64(length);
    const bool wholeBinaryMessage = m_opcode == int(FrameType::Binary) && m_final;
    m_step = wholeBinaryMessage && m_sink.destination && m_frameLeft >= m_sink.prefixBytes ? Step::Prefix : Step::Payload;
    return true;
}

bool WebSocketClient::readPrefix()
{
    if (!fillTo(m_prefix, m_sink.prefixBytes))
        return false;
    m_frameLeft -= m_sink.prefixBytes;
    m_sinkAt = m_sink.destination(m_prefix, m_frameLeft);
    if (m_phase != Phase::Open)
        return false;
    if (m_sinkAt) {
        m_sinkTotal = m_frameLeft;
        m_step = Step::IntoSink;
    } else {
        m_message = std::exchange(m_prefix, {});
        m_step = Step::Payload;
    }
    return true;
}

bool WebSocketClient::readIntoSink()
{
    while (m_frameLeft > 0) {
        const qint64 n = readSome(m_sinkAt, m_frameLeft);
        if (n == 0)
            setReadLowWater(m_frameLeft);
        if (n <= 0)
            return false;
        m_sinkAt += n;
        m_frameLeft -= n;
    }
    setReadLowWater(1);
    m_step = Step::FrameHeader;
    m_messageOpcode = 0;
    const QByteArray prefix = std::exchange(m_prefix, {});
    m_sink.delivered(prefix, m_sinkTotal);
    return true;
}

// While a large payload trickles in, the kernel is asked to wake this thread only once a good
// part of it is there (SO_RCVLOWAT, which Linux applies to poll too): each wake-up costs more
// than the read it allows when it brings a few kilobytes.
void WebSocketClient::setReadLowWater(qint64 bytes)
{
    constexpr qint64 kMaxLowWater = 256 * 1024;
    const int lowWater = int(qBound<qint64>(1, bytes, kMaxLowWater));
    if (lowWater == m_readLowWater || qobject_cast<QSslSocket *>(m_socket))
        return;
    if (::setsockopt(int(m_socket->socketDescriptor()), SOL_SOCKET, SO_RCVLOWAT, &lowWater, sizeof lowWater) == 0)
        m_readLowWater = lowWater;
}

bool WebSocketClient::readPayload()
{
    QByteArray &into = isControl(m_opcode) ? m_control : m_message;
    const qsizetype had = into.size();
    const bool complete = fillTo(into, had + m_frameLeft);
    m_frameLeft -= into.size() - had;
    if (!complete)
        return false;
    m_step = Step::FrameHeader;
    if (isControl(m_opcode)) {
        controlFrame(m_opcode, std::exchange(m_control, {}));
    } else if (m_final) {
        const int opcode = std::exchange(m_messageOpcode, 0);
        const QByteArray message = std::exchange(m_message, {});
        if (opcode == int(FrameType::Text))
            Q_EMIT textMessageReceived(message);
        else
            Q_EMIT binaryMessageReceived(message);
    }
    return true;
}

void WebSocketClient::controlFrame(int opcode, const QByteArray &payload)
{
    if (opcode == int(FrameType::Ping)) {
        writeFrame(int(FrameType::Pong), payload);
    } else if (opcode == int(FrameType::Close)) {
        const int code = payload.size() >= 2 ? qFromBigEndian<quint16>(payload.constData()) : kCloseNormal;
        const QString reason = QString::fromUtf8(payload.mid(2));
        if (!m_closeSent)
            writeFrame(int(FrameType::Close), payload.left(2));
        m_closeSent = true;
        end(QStringLiteral("the server closed the connection (code %1%2)").arg(code).arg(reason.isEmpty() ? QString() : QStringLiteral(": ") + reason));
        m_socket->disconnectFromHost();
    }
}

void WebSocketClient::writeFrame(int opcode, QByteArrayView payload)
{
    const quint32 mask = QRandomGenerator::global()->generate();
    QByteArray frame = protocol::encodeFrameHeader(FrameType(opcode), quint64(payload.size()), mask);
    const qsizetype at = frame.size();
    frame.append(payload);
    char key[4];
    qToBigEndian<quint32>(mask, key);
    for (qsizetype i = 0; i < payload.size(); ++i)
        frame[at + i] = char(frame[at + i] ^ key[i % 4]);
    m_socket->write(frame);
}

void WebSocketClient::sendTextMessage(const QByteArray &utf8)
{
    if (m_phase == Phase::Open && !m_closeSent)
        writeFrame(int(FrameType::Text), utf8);
}

void WebSocketClient::close()
{
    if (m_phase == Phase::Open && !m_closeSent) {
        writeFrame(int(FrameType::Close), closePayload(kCloseNormal));
        m_closeSent = true;
    }
    end(QStringLiteral("closed"));
    if (m_socket)
        m_socket->disconnectFromHost(); // after what is queued, the close frame too
}

void WebSocketClient::ping()
{
    if (m_phase == Phase::Open && !m_closeSent)
        writeFrame(int(FrameType::Ping), {});
}

qint64 WebSocketClient::msSinceHeard()
{
    const qint64 now = steadyMs();
    int queued = 0;
    if (m_phase == Phase::Open && ::ioctl(int(m_socket->socketDescriptor()), FIONREAD, &queued) == 0
        && queued != m_queuedSeen) {
        m_queuedSeen = queued;
        m_heardAtMs = now;
    }
    if (m_heardAtMs == 0)
        m_heardAtMs = now;
    return now - m_heardAtMs;
}

void WebSocketClient::abort()
{
    end(QStringLiteral("aborted"));
    if (m_socket)
        m_socket->abort();
}

void WebSocketClient::fail(const QString &why, int closeCode, Failure kind)
{
    qCWarning(lcWebSocket).noquote() << why;
    if (m_error.isEmpty())
        m_error = why;
    if (m_failure == Failure::None)
        m_failure = kind;
    const bool sayWhy = closeCode && m_phase == Phase::Open && !m_closeSent;
    if (sayWhy) {
        writeFrame(int(FrameType::Close), closePayload(closeCode));
        m_closeSent = true;
    }
    end(why);
    if (sayWhy)
        m_socket->disconnectFromHost();
    else
        m_socket->abort();
}

void WebSocketClient::end(const QString &why)
{
    if (m_phase == Phase::Ended)
        return;
    if (m_error.isEmpty())
        m_error = why;
    m_phase = Phase::Ended;
    m_handshakeTimer.stop();
    Q_EMIT disconnected();
}

} // namespace surfing
