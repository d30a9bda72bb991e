// WebSocketClient, first half: connecting, TLS, the HTTP upgrade, and saying in words why an
// attempt failed before the connection was open (and whether another attempt may help).
#include "client/websocketclient.h"

#include <QCryptographicHash>
#include <QLoggingCategory>
#include <QRandomGenerator>
#include <QSslSocket>
#include <QTcpSocket>

Q_DECLARE_LOGGING_CATEGORY(lcWebSocket)

namespace surfing {
namespace {

constexpr qsizetype kMaxHandshakeBytes = 16 * 1024;
// TLS records are decrypted into the socket's buffer; bounded, so a fast server waits in TCP
// flow control instead of piling chunks up in this process.
constexpr qint64 kSslReadBufferBytes = 4 * 1024 * 1024;

QByteArray headerValue(const QList<QByteArray> &lines, QByteArrayView name)
{
    for (const QByteArray &line : lines) {
        const qsizetype colon = line.indexOf(':');
        if (colon > 0 && line.left(colon).trimmed().compare(name, Qt::CaseInsensitive) == 0)
            return line.mid(colon + 1).trimmed();
    }
    return {};
}

// A TLS record (handshake or alert, any TLS version) where an HTTP response was expected.
bool looksLikeTls(const QByteArray &bytes)
{
    return bytes.size() >= 2 && (bytes[0] == 0x15 || bytes[0] == 0x16) && bytes[1] == 0x03;
}

// What OpenSSL says when the other end answered a ClientHello with something that is not TLS.
bool plainAnswerToTls(const QString &detail)
{
    for (const char *sign : {"wrong version number", "unknown protocol", "packet length too long", "record layer failure"}) {
        if (detail.contains(QLatin1String(sign), Qt::CaseInsensitive))
            return true;
    }
    return false;
}

QString seconds(int ms)
{
    return QString::number(ms / 1000.0);
}

} // namespace

void WebSocketClient::open(const QUrl &url)
{
    Q_ASSERT_X(m_phase == Phase::Idle, "WebSocketClient::open", "one connection per object");
    m_url = url;
    m_phase = Phase::Handshake;
    m_stage = Stage::Tcp;
    const bool tls = url.scheme() == QLatin1String("wss");
    if (!tls && url.scheme() != QLatin1String("ws")) {
        m_failure = Failure::Handshake;
        return end(QStringLiteral("%1 is not a ws:// or wss:// URL").arg(url.toDisplayString()));
    }
    QByteArray key(16, Qt::Uninitialized);
    QRandomGenerator::global()->fillRange(reinterpret_cast<quint32 *>(key.data()), 4);
    m_key = key.toBase64();
    if (tls) {
        auto *ssl = new QSslSocket(this);
        if (m_hasSsl)
            ssl->setSslConfiguration(m_ssl);
        ssl->setReadBufferSize(kSslReadBufferBytes);
        connect(ssl, &QSslSocket::encrypted, this, &WebSocketClient::onSocketConnected);
        connect(ssl, qOverload<const QList<QSslError> &>(&QSslSocket::sslErrors), this, &WebSocketClient::sslErrors);
        m_socket = ssl;
    } else {
        m_socket = new QTcpSocket(this);
    }
    connect(m_socket, &QAbstractSocket::connected, this, &WebSocketClient::onTcpConnected);
    connect(m_socket, &QIODevice::readyRead, this, &WebSocketClient::onReadyRead);
    connect(m_socket, &QAbstractSocket::errorOccurred, this, &WebSocketClient::onSocketError);
    connect(m_socket, &QAbstractSocket::disconnected, this, [this] {
        if (m_phase == Phase::Handshake)
            onSocketError();
        else
            end(QStringLiteral("the server closed the connection"));
    });
    if (m_handshakeTimeoutMs > 0) {
        m_handshakeTimer.setSingleShot(true);
        connect(&m_handshakeTimer, &QTimer::timeout, this, &WebSocketClient::onHandshakeTimeout);
        m_handshakeTimer.start(m_handshakeTimeoutMs);
    }
    const quint16 port = quint16(url.port(tls ? 443 : 80));
    if (tls)
        static_cast<QSslSocket *>(m_socket)->connectToHostEncrypted(url.host(), port);
    else // Unbuffered: reads go from the kernel straight to where read() points.
        m_socket->connectToHost(url.host(), port, QIODevice::ReadWrite | QIODevice::Unbuffered);
}

void WebSocketClient::onTcpConnected()
{
    if (m_phase != Phase::Handshake)
        return;
    if (qobject_cast<QSslSocket *>(m_socket))
        m_stage = Stage::Tls; // encrypted() follows
    else
        onSocketConnected();
}

void WebSocketClient::onSocketConnected()
{
    m_stage = Stage::Upgrade;
    m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    QByteArray path = m_url.path(QUrl::FullyEncoded).toUtf8();
    if (path.isEmpty())
        path = "/";
    if (m_url.hasQuery())
        path += '?' + m_url.query(QUrl::FullyEncoded).toUtf8();
    QByteArray host = m_url.host(QUrl::FullyEncoded).toUtf8();
    if (host.contains(':'))
        host = '[' + host + ']';
    if (m_url.port() != -1)
        host += ':' + QByteArray::number(m_url.port());
    m_socket->write("GET " + path + " HTTP/1.1\r\nHost: " + host
                    + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + m_key
                    + "\r\nSec-WebSocket-Version: 13\r\n\r\n");
}

void WebSocketClient::onSocketError()
{
    if (m_phase != Phase::Handshake)
        return end(m_socket->errorString());
    Failure kind = Failure::Network;
    const QString why = handshakeEnded(m_socket->error(), &kind);
    qCDebug(lcWebSocket).noquote() << why;
    m_failure = kind;
    end(why);
    m_socket->abort();
}

void WebSocketClient::onHandshakeTimeout()
{
    if (m_phase != Phase::Handshake)
        return;
    const QString url = m_url.toDisplayString();
    QString why;
    switch (m_stage) {
    case Stage::Tcp:
        m_failure = Failure::Network;
        why = QStringLiteral("no connection to %1 within %2 s").arg(url, seconds(m_handshakeTimeoutMs));
        break;
    case Stage::Tls:
        m_failure = Failure::Handshake;
        why = QStringLiteral("%1 did not answer the TLS handshake within %2 s; is it a ws:// server rather than wss://?")
                  .arg(url, seconds(m_handshakeTimeoutMs));
        break;
    case Stage::Upgrade:
        m_failure = Failure::Handshake;
        why = QStringLiteral("%1 did not answer the WebSocket upgrade within %2 s").arg(url, seconds(m_handshakeTimeoutMs));
        break;
    }
    qCDebug(lcWebSocket).noquote() << why;
    end(why);
    m_socket->abort();
}

QString WebSocketClient::handshakeEnded(QAbstractSocket::SocketError error, Failure *kind) const
{
    const QString url = m_url.toDisplayString();
    const QString detail = m_socket->errorString();
    *kind = Failure::Handshake;
    switch (m_stage) {
    case Stage::Tcp:
        *kind = Failure::Network;
        return QStringLiteral("cannot connect to %1: %2").arg(url, detail);
    case Stage::Tls:
        if (error == QAbstractSocket::RemoteHostClosedError || plainAnswerToTls(detail))
            return QStringLiteral("%1 did not answer TLS (%2); is it a ws:// server rather than wss://?").arg(url, detail);
        return QStringLiteral("TLS handshake with %1 failed: %2").arg(url, detail);
    case Stage::Upgrade:
        break;
    }
    if (looksLikeTls(m_handshake))
        return QStringLiteral("%1 answered with TLS: it is a wss:// server; use wss:// instead of ws://").arg(url);
    if (m_handshake.isEmpty() && !qobject_cast<QSslSocket *>(m_socket))
        return QStringLiteral("%1 closed the connection without answering the WebSocket upgrade; is it a wss:// (TLS) "
                              "server rather than ws://?").arg(url);
    return QStringLiteral("%1 closed the connection during the WebSocket upgrade: %2").arg(url, detail);
}

QString WebSocketClient::checkUpgradeResponse(const QList<QByteArray> &lines, Failure *kind) const
{
    *kind = Failure::Handshake;
    const QList<QByteArray> status = lines.value(0).split(' ');
    if (status.size() < 2 || !status[0].startsWith("HTTP/1.") || status[1] != "101") {
        const int code = status.value(1).toInt();
        if (code == 408 || code == 429 || code >= 500)
            *kind = Failure::Network; // busy or restarting: another attempt may work
        return QStringLiteral("answered '%1'").arg(QString::fromUtf8(lines.value(0).left(200)));
    }
    if (headerValue(lines, "Upgrade").compare("websocket", Qt::CaseInsensitive) != 0)
        return QStringLiteral("did not upgrade to websocket");
    const QByteArray expectedAccept = QCryptographicHash::hash(m_key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", QCryptographicHash::Sha1).toBase64();
    if (headerValue(lines, "Sec-WebSocket-Accept") != expectedAccept)
        return QStringLiteral("answered with a wrong Sec-WebSocket-Accept");
    return {};
}

bool WebSocketClient::readHandshake()
{
    qsizetype end = -1;
    while ((end = m_handshake.indexOf("\r\n\r\n")) < 0) {
        if (m_handshake.size() > kMaxHandshakeBytes) {
            fail(QStringLiteral("the handshake response of %1 is longer than %2 bytes").arg(m_url.toDisplayString()).arg(kMaxHandshakeBytes),
                 0, Failure::Handshake);
            return false;
        }
        char buffer[4096];
        const qint64 n = m_socket->read(buffer, sizeof buffer);
        if (n < 0)
            onSocketError(); // an unbuffered socket meets the end here and emits nothing
        if (n <= 0)
            return false;
        m_handshake.append(buffer, n);
    }
    m_leftover = m_handshake.mid(end + 4);
    QList<QByteArray> lines = m_handshake.left(end).split('\n');
    for (QByteArray &line : lines)
        line = line.trimmed();
    Failure kind = Failure::None;
    const QString problem = checkUpgradeResponse(lines, &kind);
    if (!problem.isEmpty()) {
        fail(QStringLiteral("WebSocket handshake with %1 failed: the server %2").arg(m_url.toDisplayString(), problem), 0, kind);
        return false;
    }
    m_handshake.clear();
    m_handshakeTimer.stop();
    m_phase = Phase::Open;
    msSinceHeard(); // counts from the upgrade
    Q_EMIT connected();
    return m_phase == Phase::Open;
}

} // namespace surfing
