#include "rawwsclient.h"

#include <QEventLoop>
#include <QJsonDocument>
#include <QNetworkProxy>
#include <QTimer>
#include <QtEndian>

namespace surfing::test {

QJsonObject WireMessage::json() const
{
    return binary ? QJsonObject() : QJsonDocument::fromJson(data).object();
}

RawClient::RawClient()
{
    m_socket.setMaxAllowedIncomingMessageSize(16 * 1024 * 1024);
    m_socket.setProxy(QNetworkProxy::NoProxy);
    connect(&m_socket, &QWebSocket::textMessageReceived, this, [this](const QString &t) { m_inbox.push_back({false, t.toUtf8()}); });
    connect(&m_socket, &QWebSocket::binaryMessageReceived, this, [this](const QByteArray &b) { m_inbox.push_back({true, b}); });
    connect(&m_socket, &QWebSocket::disconnected, this, [this] { m_closed = true; });
}

bool RawClient::waitFor(const std::function<bool()> &done)
{
    QEventLoop loop;
    QTimer guard;
    guard.setSingleShot(true);
    connect(&guard, &QTimer::timeout, &loop, &QEventLoop::quit);
    guard.start(kWaitMs);
    while (!done() && guard.isActive())
        loop.processEvents(QEventLoop::WaitForMoreEvents);
    return done();
}

bool RawClient::open(const QUrl &url, const QSslConfiguration *ssl)
{
    if (ssl)
        m_socket.setSslConfiguration(*ssl);
    m_closed = false;
    m_socket.open(url);
    return waitFor([this] { return isConnected() || m_closed; }) && isConnected();
}

void RawClient::sendText(const QByteArray &text)
{
    m_socket.sendTextMessage(QString::fromUtf8(text));
}

void RawClient::sendBinary(const QByteArray &data)
{
    m_socket.sendBinaryMessage(data);
}

WireMessage RawClient::next()
{
    waitFor([this] { return !m_inbox.empty() || m_closed; });
    if (m_inbox.empty())
        return {};
    WireMessage m = std::move(m_inbox.front());
    m_inbox.pop_front();
    return m;
}

QJsonObject RawClient::nextJson()
{
    const WireMessage m = next();
    return m.binary ? QJsonObject{{"type", "unexpected-binary"}} : m.json();
}

QJsonObject RawClient::hello(const QString &token, const QString &model)
{
    QJsonObject o{{"type", "hello"}, {"protocol", 1}, {"client", "raw test client"}};
    if (!token.isEmpty())
        o.insert(QLatin1String("token"), token);
    if (!model.isEmpty())
        o.insert(QLatin1String("model"), model);
    sendText(QJsonDocument(o).toJson(QJsonDocument::Compact));
    return nextJson();
}

QJsonObject RawClient::request(const QString &type, quint32 id, const QJsonObject &extra)
{
    QJsonObject o = extra;
    o.insert(QLatin1String("type"), type);
    o.insert(QLatin1String("id"), double(id));
    sendText(QJsonDocument(o).toJson(QJsonDocument::Compact));
    return nextJson();
}

int RawClient::waitForClose()
{
    waitFor([this] { return m_closed; });
    return m_closed ? int(m_socket.closeCode()) : -1;
}

QByteArray receiveChunk(RawClient &client, quint32 id, QJsonObject *header, std::deque<WireMessage> *others)
{
    QByteArray bytes;
    qint64 expectedPieces = -1;
    qint64 received = 0;
    while (expectedPieces < 0 || received < expectedPieces) {
        WireMessage m = client.next();
        if (m.data.isEmpty() && !m.binary)
            return QByteArray(); // closed
        if (m.binary) {
            const quint32 pieceId = qFromLittleEndian<quint32>(m.data.constData());
            const quint32 index = qFromLittleEndian<quint32>(m.data.constData() + 4);
            if (pieceId != id) {
                if (others)
                    others->push_back(std::move(m));
                continue;
            }
            if (expectedPieces < 0 || index != quint32(received))
                return QByteArray(); // a piece before its header, or out of order
            bytes += m.data.mid(8);
            ++received;
            continue;
        }
        const QJsonObject o = m.json();
        if (quint32(o.value(QLatin1String("id")).toDouble()) != id) {
            if (others)
                others->push_back(std::move(m));
            continue;
        }
        *header = o;
        if (o.value(QLatin1String("type")).toString() != QLatin1String("chunk"))
            return QByteArray();
        expectedPieces = qint64(o.value(QLatin1String("pieces")).toDouble());
    }
    return bytes;
}

} // namespace surfing::test
