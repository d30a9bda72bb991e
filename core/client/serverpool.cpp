#include "client/serverpool.h"

#include <QDateTime>
#include <QLoggingCategory>
#include <QSet>
#include <utility>

Q_LOGGING_CATEGORY(lcPool, "surfing.client.pool")

namespace surfing {

namespace {

// A server that gave up is tried again with a fresh client after this long.
constexpr int kReviveMs = 2000;
constexpr int kTickMs = 250;

qint64 nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

// Failures another server may not share. "not_found", "bad_request", "unauthorized", "memory"
// and "decode" (of bytes whose hash matched) would be the same anywhere.
bool worthAnotherServer(const QString &code)
{
    static const QSet<QString> codes{QStringLiteral("connection"), QStringLiteral("timeout"), QStringLiteral("internal"),
                                     QStringLiteral("protocol"), QStringLiteral("hash_mismatch"), QStringLiteral("rate_limited")};
    return codes.contains(code);
}

} // namespace

QList<QUrl> parseServerList(const QStringList &values, QString *error)
{
    QList<QUrl> urls;
    for (const QString &value : values) {
        for (const QString &part : value.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
            const QString text = part.trimmed();
            if (text.isEmpty())
                continue;
            const QUrl url(text, QUrl::StrictMode);
            if (!url.isValid() || url.host().isEmpty()
                || (url.scheme() != QLatin1String("ws") && url.scheme() != QLatin1String("wss"))) {
                *error = QStringLiteral("'%1' is not a ws:// or wss:// URL (give ws://HOST:PORT[/MODEL], several separated by commas)")
                             .arg(text.left(200));
                return {};
            }
            if (!urls.contains(url))
                urls.append(url);
        }
    }
    if (urls.isEmpty())
        *error = QStringLiteral("no server URL given (ws://HOST:PORT[/MODEL], several separated by commas)");
    return urls;
}

ServerPool::ServerPool(const WeightClientOptions &base, const QList<QUrl> &urls, QObject *parent)
    : QObject(parent), m_base(base), m_urls(urls), m_tick(this)
{
    m_members.resize(size_t(urls.size()));
    for (qsizetype i = 0; i < urls.size(); ++i)
        m_members[size_t(i)].url = urls.at(i);
    connect(&m_tick, &QTimer::timeout, this, &ServerPool::checkParked);
}

// The clients' decoding threads deliver into m_routes (a direct connection, under m_mutex), and
// a client waits for them in its destructor. As children, the clients would be deleted by
// ~QObject, after m_routes and m_mutex are gone: a chunk decoded then wrote into freed memory
// (`fetch` crashed in about 1 run of 35 after a bad chunk, with the machine busy).
ServerPool::~ServerPool()
{
    const QList<WeightClient *> clients = findChildren<WeightClient *>(Qt::FindDirectChildrenOnly);
    for (WeightClient *client : clients)
        client->disconnect(this);
    qDeleteAll(clients);
}

void ServerPool::open()
{
    m_closing = false;
    m_tick.start(kTickMs);
    for (int i = 0; i < int(m_members.size()); ++i)
        startMember(i);
}

void ServerPool::close()
{
    m_closing = true;
    m_tick.stop();
    for (Member &m : m_members)
        if (m.client)
            m.client->close();
}

ChunkManifest ServerPool::manifest() const
{
    return m_primary ? m_primary->manifest() : ChunkManifest();
}

qint64 ServerPool::retries() const
{
    QMutexLocker lock(&m_mutex);
    qint64 total = m_retiredRetries.load();
    for (const Member &m : m_members)
        if (m.client)
            total += m.client->retries();
    return total;
}

qint64 ServerPool::reconnects() const
{
    QMutexLocker lock(&m_mutex);
    qint64 total = m_retiredReconnects.load();
    for (const Member &m : m_members)
        if (m.client)
            total += m.client->reconnects();
    return total;
}

void ServerPool::startMember(int index)
{
    Member &m = m_members[size_t(index)];
    if (WeightClient *old = m.client) {
        old->disconnect(this);
        old->close();
        if (old != m_primary) // the primary stays: callers hold it for files and signals
            old->deleteLater();
    }
    WeightClientOptions options = m_base;
    options.url = m.url;
    auto *client = new WeightClient(options, this);
    {
        QMutexLocker lock(&m_mutex);
        if (m.client) {
            m_retiredRetries += m.client->retries();
            m_retiredReconnects += m.client->reconnects();
        }
        m.client = client;
    }
    m.agreed = false;
    m.gaveUp = false;
    m.ready = false;
    connect(client, &WeightClient::connectionStateChanged, this, [this, index, client](ConnectionState state) {
        if (m_members[size_t(index)].client == client) {
            Q_EMIT memberStateChanged(m_members[size_t(index)].url, state);
            onStateChanged(index, state);
        }
    });
    connect(client, &WeightClient::manifestReceived, this, [this, index, client] {
        if (m_members[size_t(index)].client == client)
            onManifest(index);
    });
    connect(client, &WeightClient::errorOccurred, this, [this, index, client](const QString &message) {
        if (m_members[size_t(index)].client == client && client->state() == ConnectionState::Disconnected)
            onGaveUp(index, message);
    });
    // Results come on decoding threads; the route names the client, so a replaced one's late
    // results are recognised without touching m_members.
    connect(client, &WeightClient::chunkReceived, this,
            [this, index](quint32, const QString &name, const QByteArray &data, qint64 stored, qint64 start, qint64 end,
                          const QByteArray &received) {
                onDelivered(index, routeKey(name, false), data, stored, start, end, received);
            }, Qt::DirectConnection);
    connect(client, &WeightClient::fileReceived, this, [this, index](quint32, const QString &name, const QByteArray &data) {
        onDelivered(index, routeKey(name, true), data, data.size(), 0, 0, {});
    }, Qt::DirectConnection);
    connect(client, &WeightClient::requestFailed, this,
            [this, index, client](quint32 id, const QString &name, const QString &code, const QString &message) {
                if (name.isEmpty())
                    return;
                QMetaObject::invokeMethod(this, [this, index, client, id, name, code, message] {
                    if (m_members[size_t(index)].client == client)
                        onFailed(index, id, name, code, message);
                }, Qt::QueuedConnection);
            }, Qt::DirectConnection);
    client->open();
}

bool ServerPool::isHealthy(int index) const
{
    const Member &m = m_members[size_t(index)];
    return m.client && m.agreed && !m.excluded && !m.gaveUp && m.client->state() == ConnectionState::Ready;
}

// The healthy server with the fewest requests on it; `avoid` only when it is the only one.
// A single server gets every request even while it reconnects: its client queues them and sends
// them when it is back, under the client's own timeouts, as with any request already on it.
int ServerPool::pickMember(int avoid) const
{
    if (m_members.size() == 1) {
        const Member &only = m_members.front();
        return only.client && only.agreed && !only.excluded && !only.gaveUp ? 0 : -1;
    }
    QVector<int> load(int(m_members.size()), 0);
    {
        QMutexLocker lock(&m_mutex);
        for (const Route &r : m_routes)
            if (r.member >= 0)
                ++load[r.member];
    }
    int best = -1;
    for (int i = 0; i < int(m_members.size()); ++i) {
        if (!isHealthy(i))
            continue;
        if (best < 0 || (best == avoid && i != avoid) || (i != avoid && load[i] < load[best]))
            best = i;
    }
    return best;
}

// A file's key cannot be a chunk's name: names come from a manifest that parsed as JSON, and
// the newline keeps the two apart even if a manifest lists a chunk and a file of one name.
QString ServerPool::routeKey(const QString &name, bool file)
{
    return file ? QLatin1Char('\n') + name : name;
}

void ServerPool::fetchChunk(const QString &name, bool stored)
{
    QMetaObject::invokeMethod(this, [this, name, stored] { addRoute(name, false, stored); }, Qt::QueuedConnection);
}

void ServerPool::fetchFile(const QString &name)
{
    QMetaObject::invokeMethod(this, [this, name] { addRoute(name, true, true); }, Qt::QueuedConnection);
}

void ServerPool::addRoute(const QString &name, bool file, bool stored)
{
    const QString key = routeKey(name, file);
    {
        QMutexLocker lock(&m_mutex);
        if (m_routes.contains(key))
            return;
        Route route;
        route.name = name;
        route.file = file;
        route.stored = stored;
        m_routes.insert(key, route);
    }
    dispatch(key);
}

void ServerPool::dispatch(const QString &key, int avoid)
{
    const int pick = m_closing ? -1 : pickMember(avoid);
    WeightClient *client = pick >= 0 ? m_members[size_t(pick)].client : nullptr;
    quint64 serial = 0;
    Route route;
    {
        QMutexLocker lock(&m_mutex);
        auto it = m_routes.find(key);
        if (it == m_routes.end())
            return;
        it->member = pick;
        it->id = 0;
        serial = ++it->serial;
        if (pick < 0) {
            if (it->parkedSinceMs == 0)
                it->parkedSinceMs = nowMs();
            return;
        }
        it->parkedSinceMs = 0;
        route = *it;
    }
    const quint32 id = route.file ? client->fetchFile(route.name) : client->fetchChunk(route.name, route.stored);
    QMutexLocker lock(&m_mutex);
    auto it = m_routes.find(key);
    if (it != m_routes.end() && it->serial == serial)
        it->id = id;
}

void ServerPool::onStateChanged(int index, ConnectionState state)
{
    Member &m = m_members[size_t(index)];
    const bool wasReady = std::exchange(m.ready, state == ConnectionState::Ready);
    if (wasReady && !m.ready && m.agreed && !m_closing)
        ++m_lost;
    // A server that is back takes what waits for one, however many there are.
    if (state == ConnectionState::Ready) {
        if (m_members[size_t(index)].agreed)
            rebalance();
        return;
    }
    if (m_urls.size() < 2)
        return; // one server: its client's reconnect sends its requests again
    qCInfo(lcPool).noquote() << m_members[size_t(index)].url.toDisplayString() << "is" << connectionStateName(state);
    moveAway(index, connectionStateName(state));
}

// Moves the requests on a server that cannot answer now to the healthy ones (or parks them).
void ServerPool::moveAway(int index, const QString &why)
{
    QList<QPair<QString, quint32>> moving;
    {
        QMutexLocker lock(&m_mutex);
        for (auto it = m_routes.cbegin(); it != m_routes.cend(); ++it)
            if (it->member == index)
                moving.append({it.key(), it->id});
    }
    if (moving.isEmpty())
        return;
    bool elsewhere = false;
    for (int i = 0; i < int(m_members.size()); ++i)
        elsewhere = elsewhere || (i != index && isHealthy(i));
    if (!elsewhere && m_members[size_t(index)].client && !m_members[size_t(index)].gaveUp
        && !m_members[size_t(index)].excluded)
        return; // nowhere better: the client's own reconnect sends them again
    qCInfo(lcPool).noquote() << "moving" << moving.size() << "requests off" << m_members[size_t(index)].url.toDisplayString()
                             << "(" + why + ")";
    WeightClient *client = m_members[size_t(index)].client;
    for (const auto &[key, id] : std::as_const(moving)) {
        if (client && id)
            client->cancel(id);
        ++m_failovers;
        dispatch(key, index);
    }
}

void ServerPool::onManifest(int index)
{
    Member &m = m_members[size_t(index)];
    const QByteArray json = m.client->manifestJson();
    if (m_manifestJson.isEmpty()) {
        m_manifestJson = json;
        m_primary = m.client;
        m.agreed = true;
        m_ready = true;
        Q_EMIT ready();
    } else if (json == m_manifestJson) {
        m.agreed = true;
    } else {
        m.excluded = true;
        qCWarning(lcPool).noquote() << m.url.toDisplayString() << "serves another manifest for model" << m.client->modelName()
                                    << "than" << m_urls.constFirst().toDisplayString() << "- not using it";
        m.client->close();
        return;
    }
    // With one server there is nothing to tell apart: `run` stays quiet unless asked (-v).
    if (m_members.size() > 1)
        qCInfo(lcPool).noquote() << "using" << m.url.toDisplayString();
    else
        qCDebug(lcPool).noquote() << "using" << m.url.toDisplayString();
    rebalance();
}

void ServerPool::onGaveUp(int index, const QString &message)
{
    Member &m = m_members[size_t(index)];
    if (m.gaveUp)
        return; // a failed manifest request says so a second time
    m.lastError = message;
    if (m_urls.size() < 2) {
        if (!m_ready)
            Q_EMIT openFailed(message);
        return; // its requests fail with it
    }
    m.gaveUp = true;
    if (!m_ready) {
        bool hope = false;
        QStringList errors;
        for (const Member &other : m_members) {
            hope = hope || (!other.gaveUp && !other.excluded);
            errors << other.lastError;
        }
        if (!hope) {
            Q_EMIT openFailed(QStringLiteral("no server answered: %1").arg(errors.join(QLatin1String("; "))));
            return;
        }
    }
    qCInfo(lcPool).noquote() << m.url.toDisplayString() << "gave up:" << message << "- trying it again in" << kReviveMs << "ms";
    moveAway(index, QStringLiteral("gave up"));
    QTimer::singleShot(kReviveMs, this, [this, index] {
        if (!m_closing && m_members[size_t(index)].gaveUp)
            startMember(index);
    });
}

void ServerPool::onDelivered(int index, const QString &key, const QByteArray &data, qint64 stored, qint64 startNs, qint64 endNs,
                             const QByteArray &received)
{
    Route route;
    {
        QMutexLocker lock(&m_mutex);
        const auto it = m_routes.constFind(key);
        // Bytes are verified against the pool's manifest whoever sent them, so a late answer
        // from a server the request was moved off is as good as any.
        if (it == m_routes.cend())
            return;
        if (it->member != index)
            qCDebug(lcPool) << it->name << "arrived from a server it had been moved off";
        route = *it;
        m_routes.erase(it);
    }
    if (route.file)
        Q_EMIT fileDelivered(route.name, data);
    else
        Q_EMIT chunkDelivered(route.name, data, stored, startNs, endNs, received);
}

// Only the failure of the request now on that server counts: an earlier one's (moved off and
// back, or cancelled) is old news.
void ServerPool::onFailed(int index, quint32 id, const QString &name, const QString &code, const QString &message)
{
    QString key;
    int attempts = 0;
    {
        QMutexLocker lock(&m_mutex);
        for (const bool file : {false, true}) {
            auto it = m_routes.find(routeKey(name, file));
            if (it != m_routes.end() && it->member == index && it->id == id) {
                key = it.key();
                attempts = ++it->attempts;
                it->lastError = message;
                break;
            }
        }
    }
    if (key.isEmpty())
        return;
    const int maxAttempts = 2 * int(m_members.size());
    if (m_urls.size() < 2 || !worthAnotherServer(code) || attempts >= maxAttempts) {
        failRoute(key, code, message);
        return;
    }
    qCInfo(lcPool).noquote() << "asking another server for" << name << "after" << code << "from"
                             << m_members[size_t(index)].url.toDisplayString();
    ++m_failovers;
    dispatch(key, index);
}

// A server became usable: parked requests go to it, and so do those waiting on a server that
// is reconnecting.
void ServerPool::rebalance()
{
    dispatchParked();
    for (int i = 0; i < int(m_members.size()); ++i)
        if (!isHealthy(i))
            moveAway(i, connectionStateName(m_members[size_t(i)].client ? m_members[size_t(i)].client->state()
                                                                        : ConnectionState::Disconnected));
}

void ServerPool::dispatchParked()
{
    QStringList parked;
    {
        QMutexLocker lock(&m_mutex);
        for (auto it = m_routes.cbegin(); it != m_routes.cend(); ++it)
            if (it->member < 0)
                parked.append(it.key());
    }
    for (const QString &key : std::as_const(parked))
        dispatch(key);
}

// Parked requests wait for a healthy server as long as a request may make no progress.
void ServerPool::checkParked()
{
    QList<QPair<QString, Route>> expired;
    const qint64 now = nowMs();
    {
        QMutexLocker lock(&m_mutex);
        for (auto it = m_routes.cbegin(); it != m_routes.cend(); ++it)
            if (it->member < 0 && it->parkedSinceMs > 0 && now - it->parkedSinceMs > m_base.requestTimeoutMs)
                expired.append({it.key(), *it});
    }
    for (const auto &[key, route] : std::as_const(expired)) {
        QStringList urls;
        for (const QUrl &u : std::as_const(m_urls))
            urls << u.toDisplayString();
        failRoute(key, QStringLiteral("connection"),
                  QStringLiteral("%1 '%2': none of %3 could serve it for %4 s%5")
                      .arg(route.file ? QStringLiteral("file") : QStringLiteral("chunk"), route.name, urls.join(QLatin1String(", ")))
                      .arg(m_base.requestTimeoutMs / 1000.0)
                      .arg(route.lastError.isEmpty() ? QString() : QStringLiteral(" (last error: %1)").arg(route.lastError)));
    }
}

void ServerPool::failRoute(const QString &key, const QString &code, const QString &message)
{
    Route route;
    {
        QMutexLocker lock(&m_mutex);
        const auto it = m_routes.constFind(key);
        if (it == m_routes.cend())
            return;
        route = *it;
        m_routes.erase(it);
    }
    if (route.file)
        Q_EMIT fileFailed(route.name, code, message);
    else
        Q_EMIT chunkFailed(route.name, message);
}

} // namespace surfing
