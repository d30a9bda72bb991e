#include "metrics/metricsendpoint.h"

#include "base/error.h"

#include <QJsonDocument>

namespace surfing {

namespace {
// The health function answers from state kept current elsewhere (the server's storage
// monitor), so refreshing often costs nothing and /healthz lags it by at most this.
constexpr int kHealthRefreshMs = 250;
} // namespace

MetricsEndpoint::MetricsEndpoint(MetricsText metrics, Health health, QObject *parent)
    : QObject(parent), m_http(new HttpResponder(this)), m_metrics(std::move(metrics)), m_health(std::move(health))
{
    m_http->route("/metrics", [this] {
        return HttpResponder::Response{200, "text/plain; version=0.0.4; charset=utf-8", m_metrics()};
    });
    m_lastHealth = QJsonObject{{"status", "starting"}};
    m_http->route("/healthz", [this] {
        const bool ok = m_lastHealth.value(QLatin1String("status")).toString() == QLatin1String("ok");
        return HttpResponder::Response{ok ? 200 : 503, "application/json",
                                       QJsonDocument(m_lastHealth).toJson(QJsonDocument::Compact)};
    });
    connect(&m_healthTimer, &QTimer::timeout, this, &MetricsEndpoint::refreshHealth);
    m_healthTimer.start(kHealthRefreshMs);
    refreshHealth();
}

MetricsEndpoint::~MetricsEndpoint() = default;

void MetricsEndpoint::refreshHealth()
{
    if (m_checking) // a slow storage: one check at a time
        return;
    m_checking = true;
    m_health(Callback<QJsonObject>(this, [this](const QJsonObject &health) {
        m_lastHealth = health;
        m_checking = false;
    }));
}

quint16 MetricsEndpoint::listen(const QHostAddress &host, quint16 port)
{
    const quint16 bound = m_http->listen(host, port);
    if (bound == 0)
        throw Error(QStringLiteral("cannot serve metrics on %1:%2: %3 (is the port in use? try another --metrics-port)")
                        .arg(host.toString()).arg(port).arg(m_http->errorString()));
    return bound;
}

} // namespace surfing
