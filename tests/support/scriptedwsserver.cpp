#include "scriptedwsserver.h"

#include "client/websocketclient.h"

#include <QCryptographicHash>
#include <QDeadlineTimer>
#include <QSignalSpy>
#include <QTest>
#include <QtEndian>

namespace surfing::test {

using protocol::FrameType;

QByteArray frame(FrameType type, const QByteArray &payload, bool final)
{
    QByteArray f = protocol::encodeFrameHeader(type, quint64(payload.size())) + payload;
    if (!final)
        f[0] = char(f[0] & 0x7f);
    return f;
}

QByteArray closePayload(int code, const QByteArray &reason)
{
    char c[2];
    qToBigEndian<quint16>(quint16(code), c);
    return QByteArray(c, 2) + reason;
}

bool takeClientFrame(QByteArray &buffer, int *opcode, QByteArray *payload, bool *masked)
{
    if (buffer.size() < 2)
        return false;
    const int code = quint8(buffer[1]) & 0x7f;
    const int lengthBytes = code == 126 ? 2 : code == 127 ? 8 : 0;
    *masked = quint8(buffer[1]) & 0x80;
    const int head = 2 + lengthBytes + (*masked ? 4 : 0);
    if (buffer.size() < head)
        return false;
    const qint64 length = lengthBytes == 2 ? qFromBigEndian<quint16>(buffer.constData() + 2)
                          : lengthBytes == 8 ? qint64(qFromBigEndian<quint64>(buffer.constData() + 2)) : code;
    if (buffer.size() < head + length)
        return false;
    *opcode = quint8(buffer[0]) & 0x0f;
    *payload = buffer.mid(head, length);
    if (*masked)
        for (qint64 i = 0; i < length; ++i)
            (*payload)[i] = char((*payload)[i] ^ buffer[head - 4 + i % 4]);
    buffer.remove(0, head + length);
    return true;
}

bool waitFor(const std::function<bool()> &done, int ms)
{
    QDeadlineTimer deadline(ms);
    for (;;) {
        if (done())
            return true;
        if (deadline.hasExpired())
            return false;
        QTest::qWait(1);
    }
}

ScriptedServer::ScriptedServer()
{
    m_server.listen(QHostAddress::LocalHost);
}

QUrl ScriptedServer::url() const
{
    return QUrl(QStringLiteral("ws://127.0.0.1:%1/model").arg(m_server.serverPort()));
}

bool ScriptedServer::handshake(const QByteArray &response, int ms)
{
    if (!waitFor([this] { return m_server.hasPendingConnections(); }, ms))
        return false;
    m_peer = m_server.nextPendingConnection();
    if (!waitFor([this] { m_request += m_peer->readAll(); return m_request.contains("\r\n\r\n"); }, ms))
        return false;
    QByteArray key;
    for (const QByteArray &line : m_request.split('\n'))
        if (line.toLower().startsWith("sec-websocket-key:"))
            key = line.mid(18).trimmed();
    const QByteArray accept = QCryptographicHash::hash(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", QCryptographicHash::Sha1).toBase64();
    write(!response.isEmpty() ? response
                              : "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Accept: " + accept + "\r\n\r\n");
    return true;
}

bool ScriptedServer::accept(WebSocketClient &client)
{
    QSignalSpy connected(&client, &WebSocketClient::connected);
    client.open(url());
    return handshake() && (connected.count() == 1 || connected.wait());
}

void ScriptedServer::write(const QByteArray &bytes)
{
    m_peer->write(bytes);
    m_peer->flush();
}

bool ScriptedServer::readFrame(int *opcode, QByteArray *payload, bool *masked, int ms)
{
    return waitFor([&] {
        m_fromClient += m_peer->readAll();
        return takeClientFrame(m_fromClient, opcode, payload, masked);
    }, ms);
}

QByteArray ScriptedServer::readText()
{
    int opcode = 0;
    QByteArray payload;
    bool masked = false;
    return readFrame(&opcode, &payload, &masked) && opcode == int(FrameType::Text) ? payload : QByteArray();
}

} // namespace surfing::test
