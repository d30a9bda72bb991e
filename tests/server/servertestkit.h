// Test kit for the server tests: `surfing-cli serve` in its own process, and a raw WebSocket
// client that sees every message exactly as the server sends it.
#pragma once

#include <QByteArray>
#include <QJsonObject>
#include <QProcess>
#include <QSslConfiguration>
#include <QStringList>
#include <QTemporaryDir>
#include <QUrl>
#include <QWebSocket>
#include <deque>
#include <memory>

namespace surfing::test {

// Generous bound on any single wait; reaching it fails the test (it is not a timing check).
constexpr int kWaitMs = 60000;

// Chunks a shared model with `surfing-cli chunk` into `outDir`; fails the test on error.
bool chunkModel(const QString &model, const QString &outDir, const QStringList &extra = {});

class ServerProcess
{
public:
    ~ServerProcess();
    // Starts `surfing-cli serve ARGS --port 0` and waits for the URL line on stdout.
    bool start(const QStringList &args);
    QUrl url() const { return m_url; }
    int metricsPort() const { return m_metricsPort; } // with --metrics-port
    bool isRunning() const;
    // Sends SIGTERM and waits; returns the exit code (-1 if it did not exit normally).
    int terminate();
    QByteArray stderrText();

private:
    QProcess m_process;
    QUrl m_url;
    int m_metricsPort = -1;
    QByteArray m_err;
};

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
