// The client end of a WebSocket (RFC 6455) on a QTcpSocket, or a QSslSocket for wss://, made
// for receiving large binary messages without copying them.
//
// QWebSocket reads every frame into its socket's buffer, copies it into a frame, and hands the
// message over; the receiver copies it once more into the chunk it assembles. For a 1 MiB piece
// that was two thirds of the client's CPU time. Here a plain TCP socket is unbuffered: the first
// bytes of a binary message (the piece header) are offered to a BinarySink, which may name the
// place its payload belongs, and the payload then goes from the kernel straight there. Messages
// the sink declines, text and control frames arrive as whole messages, like QWebSocket's.
//
// Only what a client of one server needs: no extensions, no subprotocols, no proxies.
#pragma once

#include <QAbstractSocket>
#include <QByteArray>
#include <QObject>
#include <QSslConfiguration>
#include <QSslError>
#include <QTimer>
#include <QUrl>
#include <functional>

class QTcpSocket;

namespace surfing {

class WebSocketClient : public QObject
{
    Q_OBJECT
public:
    // Where the payload of a binary message goes. `destination` sees the first `prefixBytes`
    // of a message and its remaining length; it returns where those remaining bytes are to be
    // written (room for all of them), or nullptr to have the message come whole through
    // binaryMessageReceived(). `delivered` follows once they are all there. A message shorter
    // than the prefix, or split in several frames, always comes whole.
    struct BinarySink {
        int prefixBytes = 0;
        std::function<char *(QByteArrayView prefix, qint64 rest)> destination;
        std::function<void(QByteArrayView prefix, qint64 rest)> delivered;
    };

    // Why a connection ended, so that a caller can tell whether trying again may help.
    enum class Failure {
        None,      // open, or ended by this side or by a close frame
        Network,   // no connection, or it broke: another attempt may work
        Handshake, // the server was reached, but TLS or the WebSocket upgrade failed
        Protocol,  // the server broke RFC 6455 or a limit (a message too large)
    };

    explicit WebSocketClient(QObject *parent = nullptr);
    ~WebSocketClient() override;

    void setSslConfiguration(const QSslConfiguration &configuration);
    // Larger incoming messages close the connection (code 1009). Default 64 MiB for any
    // message, and the same for text unless set lower.
    void setMaxIncomingMessageBytes(qint64 bytes) { m_maxMessageBytes = bytes; }
    void setMaxIncomingTextBytes(qint64 bytes) { m_maxTextBytes = bytes; }
    // Bounds the TCP connection, the TLS handshake and the WebSocket upgrade together; when it
    // runs out the attempt ends, naming the step that got no answer. <= 0: no bound.
    void setHandshakeTimeout(int ms) { m_handshakeTimeoutMs = ms; }
    void setBinarySink(BinarySink sink) { m_sink = std::move(sink); }

    // Connects to a ws:// or wss:// URL; connected() follows the handshake, disconnected()
    // any end, including a failed attempt.
    void open(const QUrl &url);
    void sendTextMessage(const QByteArray &utf8);
    // Sends a close frame and ends the connection once it is written.
    void close();
    // Ends the connection now. Emits disconnected() unless it already ended.
    void abort();
    // Sends a ping frame; the server's pong, like any byte it sends, counts as hearing from it.
    void ping();
    // Milliseconds since the server last sent a byte: read, or waiting in the socket's receive
    // queue (which a reader held back by SO_RCVLOWAT has not taken yet). From the upgrade on.
    qint64 msSinceHeard();

    // ConnectedState once the handshake is done; UnconnectedState after the end.
    QAbstractSocket::SocketState state() const;
    // Why the connection ended or failed, empty before that.
    QString errorString() const { return m_error; }
    Failure failure() const { return m_failure; }

Q_SIGNALS:
    void connected();
    void disconnected();
    void textMessageReceived(const QByteArray &utf8);
    void binaryMessageReceived(const QByteArray &message);
    void sslErrors(const QList<QSslError> &errors);

private:
    enum class Phase { Idle, Handshake, Open, Ended };
    enum class Step { FrameHeader, Prefix, IntoSink, Payload };
    // While Phase::Handshake: what is being waited for.
    enum class Stage { Tcp, Tls, Upgrade };

    void onTcpConnected();
    void onSocketConnected();
    void onReadyRead();
    void onSocketError();
    void onHandshakeTimeout();
    // The words for an attempt that ended before the upgrade was done (websockethandshake.cpp).
    QString handshakeEnded(QAbstractSocket::SocketError error, Failure *kind) const;
    QString checkUpgradeResponse(const QList<QByteArray> &lines, Failure *kind) const;
    bool readHandshake();
    void readFrames();
    // Each reads what its step needs; true when the step is done, false to wait for bytes.
    bool readFrameHeader();
    bool readPrefix();
    bool readIntoSink();
    bool readPayload();
    void setReadLowWater(qint64 bytes);
    void controlFrame(int opcode, const QByteArray &payload);
    qint64 readSome(char *into, qint64 max);
    static constexpr qint64 kNotRead = -2;
    static constexpr int kLookaheadBytes = 256;
    qint64 readWithLookahead(char *into, qint64 max);
    bool fillTo(QByteArray &buffer, qsizetype size);
    void writeFrame(int opcode, QByteArrayView payload);
    void fail(const QString &why, int closeCode, Failure kind = Failure::Protocol);
    void end(const QString &why);

    QTcpSocket *m_socket = nullptr;
    QSslConfiguration m_ssl;
    bool m_hasSsl = false;
    QUrl m_url;
    QByteArray m_key;
    QString m_error;
    Phase m_phase = Phase::Idle;
    Stage m_stage = Stage::Tcp;
    Failure m_failure = Failure::None;
    QTimer m_handshakeTimer;
    int m_handshakeTimeoutMs = 0;
    BinarySink m_sink;
    qint64 m_maxMessageBytes = 64LL * 1024 * 1024;
    qint64 m_maxTextBytes = -1; // -1: m_maxMessageBytes
    bool m_closeSent = false;

    QByteArray m_leftover; // read past the handshake response, or past what a read asked for
    QByteArray m_handshake;

    Step m_step = Step::FrameHeader;
    QByteArray m_header;    // frame header so far
    int m_opcode = 0;       // of this frame
    bool m_final = false;
    qint64 m_frameLeft = 0; // payload bytes of this frame not yet read
    int m_messageOpcode = 0; // text or binary, while a fragmented message is being read
    QByteArray m_message;   // payload of the current message
    QByteArray m_control;   // payload of the current control frame
    QByteArray m_prefix;    // for the sink
    char *m_sinkAt = nullptr;
    qint64 m_sinkTotal = 0;
    int m_readLowWater = 1; // SO_RCVLOWAT of the socket
    qint64 m_heardAtMs = 0;   // steady clock
    int m_queuedSeen = -1;    // bytes in the receive queue at the last msSinceHeard()
};

} // namespace surfing
