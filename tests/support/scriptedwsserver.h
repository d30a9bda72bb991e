// A WebSocket server for tests that writes exact bytes: it answers one client's handshake
// (correctly, or with what the test gives it), then writes whatever frames, broken or not, the
// test scripts, and reads the client's frames back, unmasked.
#pragma once

#include "protocol/piece.h"

#include <QByteArray>
#include <QTcpServer>
#include <QTcpSocket>
#include <QUrl>
#include <functional>

namespace surfing {
class WebSocketClient;
}

namespace surfing::test {

// One server frame (unmasked); `final` false leaves FIN clear.
QByteArray frame(protocol::FrameType type, const QByteArray &payload, bool final = true);
// The payload of a close frame.
QByteArray closePayload(int code, const QByteArray &reason);
// Runs the event loop (the client under test lives in this thread too) until `done` or `ms`.
bool waitFor(const std::function<bool()> &done, int ms = 5000);

class ScriptedServer
{
public:
    ScriptedServer();
    QUrl url() const;

    // Waits (up to `ms`) for the client and its request; answers `response`, or a correct 101
    // when empty.
    bool handshake(const QByteArray &response = {}, int ms = 5000);
    // Opens `client` here and completes a correct handshake.
    bool accept(WebSocketClient &client);
    void write(const QByteArray &bytes);
    // The next frame the client sends, within `ms`.
    bool readFrame(int *opcode, QByteArray *payload, bool *masked, int ms = 5000);
    // The next frame's payload if it is a text frame; empty otherwise or after 5 s.
    QByteArray readText();
    QByteArray request() const { return m_request; }
    QTcpSocket *peer() const { return m_peer; }

private:
    QTcpServer m_server;
    QTcpSocket *m_peer = nullptr;
    QByteArray m_request, m_fromClient;
};

} // namespace surfing::test
