// Reads a client's WebSocket frames (RFC 6455) from the TCP (or TLS) socket under the session's
// QWebSocket, which is left to write text replies and close frames only. Two reasons to read them
// here: QWebSocket reads whatever arrives as fast as it arrives, so a client that sends requests
// and never reads the replies grew the server without limit; this reader can be paused, and
// then the socket's buffer, the kernel's and at last the client's sends fill up. And QWebSocket
// accepts unmasked frames from a client, which RFC 6455 (section 5.1) says to close with 1002.
#pragma once

#include <QByteArray>
#include <QObject>
#include <QPointer>

class QTcpSocket;

namespace surfing {

class ClientFrameReader : public QObject
{
    Q_OBJECT
public:
    // Takes over reading `wire` from whatever reads it now. Messages (all fragments together) of
    // more than `maxMessageBytes` are a violation (1009).
    ClientFrameReader(QTcpSocket *wire, qint64 maxMessageBytes, QObject *parent = nullptr);

    // While paused nothing more is read. Unpausing reads what waits on the next event-loop turn.
    void setPaused(bool paused);
    bool isPaused() const { return m_paused; }
    // For good: after a violation, a close frame, or when the session closes.
    void stop() { m_stopped = true; }

Q_SIGNALS:
    void textMessageReceived(const QByteArray &utf8);
    void binaryMessageReceived(); // its bytes are not kept: clients send none
    void pingReceived(const QByteArray &payload);
    void closeReceived();
    // The client broke the protocol; close the connection with `closeCode`.
    void protocolViolated(int closeCode, const QString &why);

private:
    void readFrames();
    bool readFrameHeader(); // true when a whole header was read
    bool readPayload();     // true when the frame's payload is complete
    void finishFrame();
    void violate(int closeCode, const QString &why);

    QPointer<QTcpSocket> m_wire;
    qint64 m_maxMessageBytes;
    bool m_paused = false;
    bool m_stopped = false;
    bool m_reading = false;

    bool m_inFrame = false;  // header read, payload under way
    int m_opcode = 0;
    bool m_final = false;
    quint8 m_mask[4] = {};
    qint64 m_frameLength = 0;
    qint64 m_frameRead = 0;
    int m_messageOpcode = 0; // text or binary, while a fragmented message is read
    QByteArray m_message;
    QByteArray m_control;
};

} // namespace surfing
