// The HTTP side of monitoring: GET /healthz (JSON; 200 when healthy, 503 otherwise) and
// GET /metrics (Prometheus text format), on their own port, served by HttpResponder (GET only,
// no bodies, bounded heads and connections). /healthz answers with the latest check, refreshed
// every 250 ms, so a request never waits for storage (the health function must be cheap).
#pragma once

#include "base/callback.h"
#include "metrics/httpresponder.h"

#include <QHostAddress>
#include <QJsonObject>
#include <QObject>
#include <QTimer>
#include <functional>

namespace surfing {

class MetricsEndpoint : public QObject
{
    Q_OBJECT
public:
    using MetricsText = std::function<QByteArray()>;
    // Starts a check that calls `done` once with JSON whose "status" is "ok" when healthy.
    using Health = std::function<void(Callback<QJsonObject> done)>;

    MetricsEndpoint(MetricsText metrics, Health health, QObject *parent = nullptr);
    ~MetricsEndpoint() override;

    // Returns the port bound; throws surfing::Error when it cannot listen.
    quint16 listen(const QHostAddress &host, quint16 port);

private:
    void refreshHealth();

    HttpResponder *m_http;
    QTimer m_healthTimer;
    QJsonObject m_lastHealth;
    bool m_checking = false;
    MetricsText m_metrics;
    Health m_health;
};

} // namespace surfing
