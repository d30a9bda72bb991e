// What `surfing-cli serve` (or the GUI) configures a WeightServer with. Zero disables a limit.
#pragma once

#include <QHostAddress>
#include <QString>

namespace surfing {

struct WeightServerOptions {
    QHostAddress host = QHostAddress(QHostAddress::LocalHost);
    quint16 port = 8765;           // 0: any free port
    qint64 cacheBytes = 512LL * 1024 * 1024;
    QString token;                 // empty: no authentication
    QString tlsCertFile;           // PEM; both set: wss://
    QString tlsKeyFile;
    int maxConnections = 256;
    double rateLimitRps = 0;       // per connection, requests per second
    double rateLimitMbps = 0;      // per connection, megabits per second of chunk bytes
    int idleTimeoutSeconds = 300;
    double limitMbps = 0;          // whole server, megabits per second (paces, never rejects)
    int maxInFlight = 64;          // requests per connection
    int maxPieceBytes = 256 * 1024;
    // TLS, WebSocket upgrade and hello must be done within this; a connection still on its way
    // counts against maxConnections.
    int handshakeTimeoutSeconds = 10;
    // Chunk bytes one connection may hold for sending (gets loading or being sent) before the
    // server stops taking its requests until it drains. A get is taken while the connection is
    // below it, so one chunk larger than the bound still goes.
    qint64 connectionSendBytes = 64LL * 1024 * 1024;
    // The same over every connection; 0: the larger of cacheBytes and 2 x connectionSendBytes.
    qint64 serverSendBytes = 0;
    // Storage probes (StorageMonitor): every this many ms; one unanswered after the timeout
    // counts as a failing storage. While a storage fails, /healthz says 503 and hellos are
    // refused.
    int storageCheckIntervalMs = 500;
    int storageCheckTimeoutMs = 3000;

    qint64 effectiveServerSendBytes() const
    {
        return serverSendBytes > 0 ? serverSendBytes : qMax(cacheBytes, 2 * connectionSendBytes);
    }
};

} // namespace surfing
