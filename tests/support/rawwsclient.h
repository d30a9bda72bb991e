// A raw WebSocket client for the server tests: sees every message exactly as the server sends
// it, with waits bounded by kWaitMs.
#pragma once

#include "serveprocess.h"

#include <QByteArray>
#include <QJsonObject>
#include <QSslConfiguration>
#include <QUrl>
#include <QWebSocket>
#include <deque>
#include <functional>

namespace surfing::test {

struct WireMessage {
    bool binary = false;
    QByteArray data;
    QJsonObject json() const; // for text messages
};

class RawClient : public QObject
{
    Q_OBJECT
public:
    RawClient();
    bool open(const QUrl &url, const QSslConfiguration *ssl = nullptr);
    bool isConnected() const { return m_socket.state() == QAbstractSocket::ConnectedState; }
    void sendText(const QByteArray &text);
    void sendBinary(const QByteArray &data);
    // Next message (waits); an empty text message when the connection closed first.
    WireMessage next();
    QJsonObject nextJson();
    // hello + welcome; returns the welcome (or the error).
    QJsonObject hello(const QString &token = {}, const QString &model = {});
    // Sends {type, id, ...extra} and returns the next JSON reply.
    QJsonObject request(const QString &type, quint32 id, const QJsonObject &extra = {});
    // Waits until the server closes the connection; returns its close code.
    int waitForClose();
    QWebSocket &socket() { return m_socket; }

private:
    bool waitFor(const std::function<bool()> &done);

    QWebSocket m_socket;
    std::deque<WireMessage> m_inbox;
    bool m_closed = false;
};

// Receives one whole chunk answering `id` (header + pieces) from `client`, skipping messages for
// other ids into `others`. Returns the stored bytes; `header` gets the chunk header.
QByteArray receiveChunk(RawClient &client, quint32 id, QJsonObject *header, std::deque<WireMessage> *others = nullptr);

} // namespace surfing::test
