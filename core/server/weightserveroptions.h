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
};

} // namespace surfing
