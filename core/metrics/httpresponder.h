// A small HTTP/1.1 server for the monitoring endpoints, built to stay small under hostile
// clients: it answers GET only (405 otherwise), refuses any request body (413) without reading
// it, reads at most `maxHeaderBytes` of request head (431 beyond), gives each connection a
// deadline for its request (408), serves one request per connection and holds at most
// `maxConnections` at once (503 for the rest). Memory per connection is bounded by the limits,
// whatever the client sends. (Qt 6.4's QHttpServer buffers a whole request body first.)
#pragma once

#include <QByteArray>
#include <QHash>
#include <QHostAddress>
#include <QObject>
#include <functional>

class QTcpServer;
class QTcpSocket;

namespace surfing {

class HttpResponder : public QObject
{
    Q_OBJECT
public:
    struct Limits {
        int maxHeaderBytes = 8 * 1024;
        int maxConnections = 16;
        int requestTimeoutMs = 10000; // from accept to a complete request head
        int lingerMs = 3000;          // after answering: the client reads the answer, then closes
        qint64 maxDrainBytes = 1 << 20; // of the client's unwanted bytes, read and dropped meanwhile
    };
    struct Response {
        int status = 200;
        QByteArray contentType;
        QByteArray body;
    };
    using Handler = std::function<Response()>;

    explicit HttpResponder(QObject *parent = nullptr) : HttpResponder(Limits(), parent) {}
    HttpResponder(const Limits &limits, QObject *parent = nullptr);
    ~HttpResponder() override;

    void route(const QByteArray &path, Handler handler);
    // Returns the port bound, 0 when it cannot listen.
    quint16 listen(const QHostAddress &host, quint16 port);
    QString errorString() const;

private:
    struct Connection;

    void onNewConnection();
    void onReadyRead(QTcpSocket *socket);
    void handleHead(QTcpSocket *socket, const QByteArray &head);
    void respond(QTcpSocket *socket, int status, const QByteArray &contentType, const QByteArray &body,
                 const QByteArray &extraHeaders = {});
    void drain(QTcpSocket *socket);

    Limits m_limits;
    QTcpServer *m_server;
    QHash<QByteArray, Handler> m_routes;
    QHash<QTcpSocket *, Connection *> m_connections;
};

} // namespace surfing
