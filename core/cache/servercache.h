// The weight server's chunk cache: a byte budget, least-recently-used eviction, shared by every
// client. Concurrent misses for one key share a single storage read. Thread-safe.
#pragma once

#include <QByteArray>
#include <QFuture>
#include <QHash>
#include <QMutex>
#include <QString>
#include <functional>
#include <list>
#include <memory>
#include <vector>

template <typename T> class QPromise;

namespace surfing {

struct ServerCacheStats {
    qint64 hits = 0;        // served from memory
    qint64 misses = 0;      // needed a storage read
    qint64 joined = 0;      // misses that waited for another request's read (no read of their own)
    qint64 evictions = 0;
    qint64 loadFailures = 0;
    qint64 bytesLoaded = 0; // read from storage
    qint64 bytesCached = 0; // held now
    qint64 entries = 0;
    qint64 budgetBytes = 0;
};

class ServerCache
{
public:
    using Loader = std::function<QFuture<QByteArray>()>;

    explicit ServerCache(qint64 budgetBytes);
    ~ServerCache();

    // The bytes for `key`: from memory, from a read already under way, or from `load()` (called
    // at most once per key while a read is outstanding). A failed read is not cached; the future
    // carries its exception. `wasHit` (optional) says whether the bytes were in memory.
    // Every call gets a future of its own, so each caller may attach its own then().
    QFuture<QByteArray> fetch(const QString &key, const Loader &load, bool *wasHit = nullptr);

    void setBudget(qint64 budgetBytes); // evicts down to the new budget
    qint64 budget() const;
    bool contains(const QString &key) const;
    void clear();
    ServerCacheStats stats() const;

private:
    struct Entry {
        QByteArray bytes;
        std::list<QString>::iterator position;
    };

    void finishLoad(const QString &key, QFuture<QByteArray> loaded);
    void insertLocked(const QString &key, const QByteArray &bytes);
    void evictLocked(qint64 budget);

    mutable QMutex m_mutex;
    qint64 m_budget;
    std::list<QString> m_order; // front: most recently used
    QHash<QString, Entry> m_entries;
    // One promise per waiting caller: a QFuture runs only the last continuation attached to it,
    // so callers joining one read must not share a future.
    using Waiters = std::vector<std::shared_ptr<QPromise<QByteArray>>>;
    QHash<QString, Waiters> m_loading;
    ServerCacheStats m_stats;
};

} // namespace surfing
