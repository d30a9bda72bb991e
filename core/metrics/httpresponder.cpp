#include "metrics/httpresponder.h"

#include <QLoggingCategory>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>

#include <sys/socket.h>

Q_LOGGING_CATEGORY(lcHttp, "surfing.metrics.http")

namespace surfing {

namespace {

QByteArray reasonPhrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

struct RequestHead {
    QByteArray method;
    QByteArray path;
    bool hasBody = false;
    bool valid = false;
};

bool isToken(const QByteArray &s)
{
    if (s.isEmpty())
        return false;
    for (char c : s) {
        if (c <= ' ' || c >= 127 || c == ':' || c == '"' || c == '(' || c == ')' || c == ',' || c == '/')
            return false;
    }
    return true;
}

// The request line and the two headers that announce a body. Anything malformed: !valid.
RequestHead parseHead(const QByteArray &head)
{
    RequestHead r;
    const QList<QByteArray> lines = head.split('\n');
    const QList<QByteArray> requestLine = lines.value(0).chopped(lines.value(0).endsWith('\r') ? 1 : 0).split(' ');
    if (requestLine.size() != 3 || !isToken(requestLine[0]) || !requestLine[2].startsWith("HTTP/1."))
        return r;
    r.method = requestLine[0];
    r.path = requestLine[1].left(requestLine[1].indexOf('?') < 0 ? requestLine[1].size() : requestLine[1].indexOf('?'));
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray line = lines[i].endsWith('\r') ? lines[i].chopped(1) : lines[i];
        if (line.isEmpty())
            continue;
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0 || !isToken(line.left(colon)))
            return r;
        const QByteArray name = line.left(colon).toLower();
        const QByteArray value = line.mid(colon + 1).trimmed();
        if (name == "content-length") {
            bool ok = false;
            const qint64 length = value.toLongLong(&ok);
            if (!ok || length < 0)
                return r;
            r.hasBody = r.hasBody || length > 0;
        } else if (name == "transfer-encoding") {
            r.hasBody = true;
        }
    }
    r.valid = true;
    return r;
}

} // namespace

struct HttpResponder::Connection {
    QByteArray head;
    QTimer deadline;
    bool answered = false;
    qint64 drained = 0;
};

HttpResponder::HttpResponder(const Limits &limits, QObject *parent)
    : QObject(parent), m_limits(limits), m_server(new QTcpServer(this))
{
    connect(m_server, &QTcpServer::pendingConnectionAvailable, this, &HttpResponder::onNewConnection);
}

HttpResponder::~HttpResponder()
{
    qDeleteAll(m_connections);
}

void HttpResponder::route(const QByteArray &path, Handler handler)
{
    m_routes.insert(path, std::move(handler));
}

quint16 HttpResponder::listen(const QHostAddress &host, quint16 port)
{
    return m_server->listen(host, port) ? m_server->serverPort() : 0;
}

QString HttpResponder::errorString() const
{
    return m_server->errorString();
}

void HttpResponder::onNewConnection()
{
    while (QTcpSocket *socket = m_server->nextPendingConnection()) {
        connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
        if (m_connections.size() >= m_limits.maxConnections) {
            qCDebug(lcHttp) << "refused" << socket->peerAddress().toString() << ": at the limit of" << m_limits.maxConnections;
            socket->write("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            socket->disconnectFromHost();
            QTimer::singleShot(m_limits.lingerMs, socket, &QTcpSocket::abort);
            continue;
        }
        auto *c = new Connection;
        m_connections.insert(socket, c);
        // Qt stops reading from the kernel once this much waits unread: a client that sends
        // more only fills its own socket buffers.
        socket->setReadBufferSize(m_limits.maxHeaderBytes);
        connect(socket, &QObject::destroyed, this, [this, socket] { delete m_connections.take(socket); });
        connect(socket, &QTcpSocket::readyRead, this, [this, socket] { onReadyRead(socket); });
        c->deadline.setSingleShot(true);
        connect(&c->deadline, &QTimer::timeout, socket, [this, socket, c] {
            if (c->answered)
                return socket->abort();
            respond(socket, 408, "text/plain", "no complete request in time\n");
        });
        c->deadline.start(m_limits.requestTimeoutMs);
        if (socket->bytesAvailable() > 0)
            onReadyRead(socket);
    }
}

void HttpResponder::onReadyRead(QTcpSocket *socket)
{
    Connection *c = m_connections.value(socket);
    if (!c)
        return;
    if (c->answered)
        return drain(socket);
    c->head += socket->read(m_limits.maxHeaderBytes - c->head.size());
    const qsizetype end = c->head.indexOf("\r\n\r\n");
    if (end >= 0)
        return handleHead(socket, c->head.left(end));
    if (c->head.size() >= m_limits.maxHeaderBytes)
        respond(socket, 431, "text/plain", QByteArray("request head larger than ") + QByteArray::number(m_limits.maxHeaderBytes) + " bytes\n");
}

void HttpResponder::handleHead(QTcpSocket *socket, const QByteArray &head)
{
    const RequestHead request = parseHead(head);
    if (!request.valid)
        return respond(socket, 400, "text/plain", "malformed request\n");
    if (request.hasBody)
        return respond(socket, 413, "text/plain", "requests here carry no body\n");
    if (request.method != "GET")
        return respond(socket, 405, "text/plain", "only GET is answered here\n", "Allow: GET\r\n");
    const auto route = m_routes.constFind(request.path);
    if (route == m_routes.cend())
        return respond(socket, 404, "text/plain", "not found\n");
    const Response response = route.value()();
    respond(socket, response.status, response.contentType, response.body);
}

void HttpResponder::respond(QTcpSocket *socket, int status, const QByteArray &contentType, const QByteArray &body,
                            const QByteArray &extraHeaders)
{
    Connection *c = m_connections.value(socket);
    if (!c || c->answered)
        return;
    c->answered = true;
    c->head.clear();
    QByteArray reply = "HTTP/1.1 " + QByteArray::number(status) + ' ' + reasonPhrase(status) + "\r\n";
    reply += "Content-Type: " + contentType + "\r\nContent-Length: " + QByteArray::number(body.size()) + "\r\n";
    reply += extraHeaders + "Connection: close\r\n\r\n" + body;
    socket->write(reply);
    // Half-close once the answer is out, then drain what the client still sends until it
    // closes: closing with unread data would reset the connection and could lose the answer.
    const auto shutdownWhenWritten = [socket] {
        if (socket->bytesToWrite() == 0 && socket->socketDescriptor() != -1)
            ::shutdown(int(socket->socketDescriptor()), SHUT_WR);
    };
    connect(socket, &QTcpSocket::bytesWritten, socket, shutdownWhenWritten);
    socket->flush();
    shutdownWhenWritten();
    c->deadline.start(m_limits.lingerMs);
    drain(socket);
}

void HttpResponder::drain(QTcpSocket *socket)
{
    Connection *c = m_connections.value(socket);
    char sink[16 * 1024];
    qint64 n = 0;
    // Past the drain limit nothing more is read: Qt's buffer fills, the client's sends stall,
    // and the linger deadline ends the connection. Until then the client can read the answer.
    while (c && c->drained <= m_limits.maxDrainBytes && (n = socket->read(sink, sizeof sink)) > 0)
        c->drained += n;
}

} // namespace surfing
