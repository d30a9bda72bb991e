#include "server/clientframereader.h"

#include "protocol/piece.h"

#include <QTcpSocket>
#include <QWebSocketProtocol>
#include <QtEndian>

namespace surfing {

namespace {

using protocol::FrameType;

// What the socket may buffer while the reader is paused: past it the kernel holds the rest.
constexpr qint64 kSocketReadBufferBytes = 64 * 1024;
constexpr int kMaxControlPayload = 125;

bool isControl(int opcode)
{
    return opcode & 0x8;
}

} // namespace

ClientFrameReader::ClientFrameReader(QTcpSocket *wire, qint64 maxMessageBytes, QObject *parent)
    : QObject(parent), m_wire(wire), m_maxMessageBytes(maxMessageBytes)
{
    // Whoever read the socket before (QWebSocket) reads it no more.
    QObject::disconnect(wire, &QIODevice::readyRead, nullptr, nullptr);
    wire->setReadBufferSize(kSocketReadBufferBytes);
    connect(wire, &QIODevice::readyRead, this, &ClientFrameReader::readFrames);
    if (wire->bytesAvailable() > 0)
        QMetaObject::invokeMethod(this, &ClientFrameReader::readFrames, Qt::QueuedConnection);
}

void ClientFrameReader::setPaused(bool paused)
{
    if (paused == m_paused)
        return;
    m_paused = paused;
    if (!paused)
        QMetaObject::invokeMethod(this, &ClientFrameReader::readFrames, Qt::QueuedConnection);
}

void ClientFrameReader::readFrames()
{
    if (m_reading) // a handler of a message below unpaused us: the loop goes on anyway
        return;
    m_reading = true;
    while (!m_paused && !m_stopped && m_wire && m_wire->bytesAvailable() > 0) {
        if (!m_inFrame && !readFrameHeader())
            break;
        if (m_inFrame && !readPayload())
            break;
        if (!m_stopped)
            finishFrame();
    }
    m_reading = false;
}

bool ClientFrameReader::readFrameHeader()
{
    char head[14];
    const qint64 have = m_wire->peek(head, sizeof head);
    if (have < 2)
        return false;
    const quint8 first = quint8(head[0]), second = quint8(head[1]);
    const int lengthCode = second & 0x7f;
    const int lengthBytes = lengthCode == 126 ? 2 : lengthCode == 127 ? 8 : 0;
    const bool masked = second & 0x80;
    const int headerBytes = 2 + lengthBytes + (masked ? 4 : 0);
    const int opcode = first & 0x0f;
    const bool final = first & 0x80;
    QString problem;
    int code = QWebSocketProtocol::CloseCodeProtocolError;
    if (!masked)
        problem = QStringLiteral("an unmasked frame (a client must mask every frame, RFC 6455 5.1)");
    else if (first & 0x70)
        problem = QStringLiteral("reserved bits set");
    else if (isControl(opcode) && (opcode > int(FrameType::Pong) || !final || lengthCode > kMaxControlPayload))
        problem = QStringLiteral("a bad control frame (opcode %1)").arg(opcode);
    else if (!isControl(opcode) && opcode > int(FrameType::Binary))
        problem = QStringLiteral("a reserved opcode %1").arg(opcode);
    else if (opcode == int(FrameType::Continuation) && m_messageOpcode == 0)
        problem = QStringLiteral("a continuation frame outside a message");
    else if (!isControl(opcode) && opcode != int(FrameType::Continuation) && m_messageOpcode != 0)
        problem = QStringLiteral("a new message inside a fragmented one");
    if (problem.isEmpty() && have < headerBytes)
        return false;
    quint64 length = quint64(lengthCode);
    if (lengthBytes == 2)
        length = qFromBigEndian<quint16>(head + 2);
    else if (lengthBytes == 8)
        length = qFromBigEndian<quint64>(head + 2);
    if (problem.isEmpty() && !isControl(opcode) && length > quint64(m_maxMessageBytes - m_message.size())) {
        problem = QStringLiteral("a message larger than %1 bytes").arg(m_maxMessageBytes);
        code = QWebSocketProtocol::CloseCodeTooMuchData;
    }
    if (!problem.isEmpty()) {
        violate(code, problem);
        return false;
    }
    m_wire->skip(headerBytes);
    memcpy(m_mask, head + 2 + lengthBytes, 4);
    m_opcode = opcode;
    m_final = final;
    m_frameLength = qint64(length);
    m_frameRead = 0;
    m_inFrame = true;
    if (!isControl(opcode) && opcode != int(FrameType::Continuation))
        m_messageOpcode = opcode;
    return true;
}

bool ClientFrameReader::readPayload()
{
    const bool binary = !isControl(m_opcode) && m_messageOpcode == int(FrameType::Binary);
    QByteArray &into = isControl(m_opcode) ? m_control : m_message;
    while (m_frameRead < m_frameLength) {
        const qint64 want = qMin(m_frameLength - m_frameRead, m_wire->bytesAvailable());
        if (want <= 0)
            return false;
        if (binary) { // never used: counted and dropped
            m_wire->skip(want);
            m_frameRead += want;
            continue;
        }
        const qsizetype had = into.size();
        into.resize(had + want);
        const qint64 got = m_wire->read(into.data() + had, want);
        into.resize(had + qMax<qint64>(0, got));
        for (qint64 i = 0; i < got; ++i)
            into[had + i] = char(quint8(into[had + i]) ^ m_mask[(m_frameRead + i) % 4]);
        if (got <= 0)
            return false;
        m_frameRead += got;
    }
    return true;
}

void ClientFrameReader::finishFrame()
{
    m_inFrame = false;
    if (isControl(m_opcode)) {
        const QByteArray payload = std::exchange(m_control, {});
        if (m_opcode == int(FrameType::Ping))
            Q_EMIT pingReceived(payload);
        else if (m_opcode == int(FrameType::Close)) {
            m_stopped = true;
            Q_EMIT closeReceived();
        }
        return;
    }
    if (!m_final)
        return;
    const int opcode = std::exchange(m_messageOpcode, 0);
    const QByteArray message = std::exchange(m_message, {});
    if (opcode == int(FrameType::Binary)) {
        Q_EMIT binaryMessageReceived();
    } else if (!QByteArrayView(message).isValidUtf8()) {
        violate(QWebSocketProtocol::CloseCodeWrongDatatype, QStringLiteral("a text message that is not UTF-8"));
    } else {
        Q_EMIT textMessageReceived(message);
    }
}

void ClientFrameReader::violate(int closeCode, const QString &why)
{
    m_stopped = true;
    Q_EMIT protocolViolated(closeCode, why);
}

} // namespace surfing
