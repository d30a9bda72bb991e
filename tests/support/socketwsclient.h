// A WebSocket client on a plain POSIX socket, for what QWebSocket will not do: send unmasked
// frames, send requests and never read the replies, or open TCP and never upgrade. Nothing is
// read unless asked, so a test controls exactly what the server sees of it. Every wait is
// bounded by kWaitMs (or the given time).
#pragma once

#include <QByteArray>
#include <QUrl>
#include <optional>

namespace surfing::test {

struct SocketFrame {
    int opcode = 0;
    QByteArray payload;
    int closeCode() const; // for a close frame; -1 if it has none
};

class SocketWsClient
{
public:
    SocketWsClient() = default;
    SocketWsClient(const SocketWsClient &) = delete;
    SocketWsClient &operator=(const SocketWsClient &) = delete;
    ~SocketWsClient();

    // TCP only (no upgrade). `receiveBufferBytes` > 0 shrinks the socket's receive buffer.
    bool connectTcp(const QUrl &url, int receiveBufferBytes = 0);
    // TCP, the HTTP upgrade and its 101 answer.
    bool open(const QUrl &url, int receiveBufferBytes = 0);
    // hello, then reads the welcome; true when it is one.
    bool hello();

    // A final frame: masked as a client must, or not.
    static QByteArray frame(int opcode, const QByteArray &payload, bool masked = true);
    // Writes all of `bytes`, or as much as the server takes before it takes nothing for
    // `stuckMs`; returns how many it took (-1 on an error).
    qint64 send(const QByteArray &bytes, int stuckMs = 2000);
    // The next frame from the server; nullopt when the connection ended or nothing came.
    std::optional<SocketFrame> readFrame(int waitMs);
    // Without reading: whether the server has ended the connection (reset, or FIN seen).
    bool peerClosed(int waitMs = 0);
    void close();
    int descriptor() const { return m_fd; }

private:
    bool readExactly(char *into, qint64 size, int waitMs);

    int m_fd = -1;
    QByteArray m_buffered; // read past the handshake answer
};

// The serve process's /proc/PID/status field (VmRSS, VmHWM, ...) in bytes; -1 if unreadable.
qint64 procStatusBytes(qint64 pid, const char *field);
// The serve process's user + system CPU time in seconds (/proc/PID/stat); -1 if unreadable.
double procCpuSeconds(qint64 pid);
// How many descriptors the process has open; -1 if unreadable.
int procOpenFiles(qint64 pid);

} // namespace surfing::test
