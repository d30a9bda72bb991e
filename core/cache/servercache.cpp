#include "cache/servercache.h"

#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcServerCache, "surfing.cache.server")

namespace surfing {

ServerCache::ServerCache(qint64 budgetBytes) : d(std::make_shared<Core>())
{
    d->budget = qMax<qint64>(0, budgetBytes);
}

ServerCache::~ServerCache()
{
    QHash<QString, std::vector<ReadCallback>> waiting;
    {
        std::lock_guard lock(d->mutex);
        waiting.swap(d->loading);
    }
    for (auto it = waiting.cbegin(); it != waiting.cend(); ++it) {
        for (const ReadCallback &done : it.value())
            done(ReadResult::failure(QStringLiteral("the cache closed while '%1' was being read").arg(it.key())));
    }
}

std::optional<QByteArray> ServerCache::fetch(const QString &key, const Loader &load, ReadCallback done)
{
    {
        std::lock_guard lock(d->mutex);
        auto found = d->entries.find(key);
        if (found != d->entries.end()) {
            d->order.splice(d->order.begin(), d->order, found->position);
            ++d->stats.hits;
            return found->bytes;
        }
        ++d->stats.misses;
        auto loading = d->loading.find(key);
        if (loading != d->loading.end()) {
            ++d->stats.joined;
            loading->push_back(std::move(done));
            return std::nullopt;
        }
        d->loading[key].push_back(std::move(done));
    }
    // The read reports to the core, not the cache: a read that ends after the cache is gone
    // finds nobody waiting.
    const std::weak_ptr<Core> core = d;
    ReadCallback loaded = ReadCallback::direct([core, key](ReadResult result) {
        if (const auto alive = core.lock())
            alive->finishLoad(key, result);
    });
    try {
        load(loaded);
    } catch (const std::exception &e) {
        loaded(ReadResult::failure(QString::fromUtf8(e.what())));
    }
    return std::nullopt;
}

void ServerCache::Core::finishLoad(const QString &key, const ReadResult &result)
{
    std::vector<ReadCallback> waiters;
    {
        std::lock_guard lock(mutex);
        waiters = loading.take(key);
        if (result.ok()) {
            stats.bytesLoaded += result.bytes.size();
            insertLocked(key, result.bytes);
        } else {
            ++stats.loadFailures;
        }
    }
    for (const ReadCallback &done : waiters)
        done(result);
}

void ServerCache::Core::insertLocked(const QString &key, const QByteArray &bytes)
{
    if (bytes.size() > budget || entries.contains(key))
        return; // too big: served, not kept (it would push everything else out)
    evictLocked(budget - bytes.size());
    order.push_front(key);
    entries.insert(key, Entry{bytes, order.begin()});
    stats.bytesCached += bytes.size();
}

void ServerCache::Core::evictLocked(qint64 limit)
{
    while (stats.bytesCached > limit && !order.empty()) {
        const QString victim = order.back();
        order.pop_back();
        stats.bytesCached -= entries.take(victim).bytes.size();
        ++stats.evictions;
        qCDebug(lcServerCache) << "evicted" << victim;
    }
}

void ServerCache::setBudget(qint64 budgetBytes)
{
    std::lock_guard lock(d->mutex);
    d->budget = qMax<qint64>(0, budgetBytes);
    d->evictLocked(d->budget);
}

qint64 ServerCache::budget() const
{
    std::lock_guard lock(d->mutex);
    return d->budget;
}

bool ServerCache::contains(const QString &key) const
{
    std::lock_guard lock(d->mutex);
    return d->entries.contains(key);
}

void ServerCache::clear()
{
    std::lock_guard lock(d->mutex);
    d->entries.clear();
    d->order.clear();
    d->stats.bytesCached = 0;
}

ServerCacheStats ServerCache::stats() const
{
    std::lock_guard lock(d->mutex);
    ServerCacheStats s = d->stats;
    s.entries = d->entries.size();
    s.budgetBytes = d->budget;
    return s;
}

} // namespace surfing
