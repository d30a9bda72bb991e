#include "cache/servercache.h"

#include "base/error.h"

#include <QLoggingCategory>
#include <QPromise>

Q_LOGGING_CATEGORY(lcServerCache, "surfing.cache.server")

namespace surfing {

ServerCache::ServerCache(qint64 budgetBytes) : m_budget(qMax<qint64>(0, budgetBytes)) {}

ServerCache::~ServerCache()
{
    // Reads still under way hold their own promise; waiters see a cancelled future if the
    // cache goes first.
    QMutexLocker lock(&m_mutex);
    for (auto &waiters : m_loading) {
        for (auto &promise : waiters)
            promise->finish();
    }
}

QFuture<QByteArray> ServerCache::fetch(const QString &key, const Loader &load, bool *wasHit)
{
    QMutexLocker lock(&m_mutex);
    auto found = m_entries.find(key);
    if (found != m_entries.end()) {
        m_order.splice(m_order.begin(), m_order, found->position);
        ++m_stats.hits;
        if (wasHit)
            *wasHit = true;
        return QtFuture::makeReadyFuture(found->bytes);
    }
    if (wasHit)
        *wasHit = false;
    ++m_stats.misses;
    auto promise = std::make_shared<QPromise<QByteArray>>();
    promise->start();
    const QFuture<QByteArray> result = promise->future();
    if (auto loading = m_loading.find(key); loading != m_loading.end()) {
        ++m_stats.joined;
        loading->push_back(std::move(promise));
        return result;
    }
    m_loading.insert(key, Waiters{std::move(promise)});
    lock.unlock();

    QFuture<QByteArray> loaded;
    try {
        loaded = load();
    } catch (...) {
        QPromise<QByteArray> failed;
        failed.start();
        failed.setException(std::current_exception());
        failed.finish();
        loaded = failed.future();
    }
    loaded.then([this, key](QFuture<QByteArray> done) { finishLoad(key, done); });
    return result;
}

void ServerCache::finishLoad(const QString &key, QFuture<QByteArray> loaded)
{
    QMutexLocker lock(&m_mutex);
    const Waiters waiters = m_loading.take(key);
    if (waiters.empty())
        return;
    try {
        if (loaded.resultCount() == 0) {
            loaded.waitForFinished(); // rethrows the read's exception, if it has one
            throw Error(QStringLiteral("the storage read of '%1' ended without data").arg(key));
        }
        const QByteArray bytes = loaded.result();
        m_stats.bytesLoaded += bytes.size();
        insertLocked(key, bytes);
        lock.unlock();
        for (const auto &promise : waiters)
            promise->addResult(bytes);
    } catch (...) {
        ++m_stats.loadFailures;
        lock.unlock();
        for (const auto &promise : waiters)
            promise->setException(std::current_exception());
    }
    for (const auto &promise : waiters)
        promise->finish();
}

void ServerCache::insertLocked(const QString &key, const QByteArray &bytes)
{
    if (bytes.size() > m_budget)
        return; // served, not kept: it would push everything else out
    evictLocked(m_budget - bytes.size());
    m_order.push_front(key);
    m_entries.insert(key, Entry{bytes, m_order.begin()});
    m_stats.bytesCached += bytes.size();
}

void ServerCache::evictLocked(qint64 budget)
{
    while (m_stats.bytesCached > budget && !m_order.empty()) {
        const QString victim = m_order.back();
        m_order.pop_back();
        m_stats.bytesCached -= m_entries.take(victim).bytes.size();
        ++m_stats.evictions;
        qCDebug(lcServerCache) << "evicted" << victim;
    }
}

void ServerCache::setBudget(qint64 budgetBytes)
{
    QMutexLocker lock(&m_mutex);
    m_budget = qMax<qint64>(0, budgetBytes);
    evictLocked(m_budget);
}

qint64 ServerCache::budget() const
{
    QMutexLocker lock(&m_mutex);
    return m_budget;
}

bool ServerCache::contains(const QString &key) const
{
    QMutexLocker lock(&m_mutex);
    return m_entries.contains(key);
}

void ServerCache::clear()
{
    QMutexLocker lock(&m_mutex);
    m_entries.clear();
    m_order.clear();
    m_stats.bytesCached = 0;
}

ServerCacheStats ServerCache::stats() const
{
    QMutexLocker lock(&m_mutex);
    ServerCacheStats s = m_stats;
    s.entries = m_entries.size();
    s.budgetBytes = m_budget;
    return s;
}

} // namespace surfing
