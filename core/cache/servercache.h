// The weight server's chunk cache: a byte budget, least-recently-used eviction, shared by every
// client. Concurrent misses for one key share a single storage read. Thread-safe.
#pragma once

#include "storage/chunkstorage.h"

#include <QByteArray>
#include <QHash>
#include <QString>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

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
    // Starts the one read of a key and calls `done` once when it ends, from any thread.
    using Loader = std::function<void(ReadCallback done)>;

    explicit ServerCache(qint64 budgetBytes);
    ~ServerCache(); // callers still waiting get an error

    // A hit returns the bytes at once and drops `done`. A miss returns nothing; `done` gets the
    // bytes or the error later, from a read already under way for `key` or from `load()`
    // (called at most once per key while a read is outstanding). A failed read is not cached.
    std::optional<QByteArray> fetch(const QString &key, const Loader &load, ReadCallback done);

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
    // What the reads under way report back to; outlives the cache while they run.
    struct Core {
        mutable std::mutex mutex;
        qint64 budget = 0;
        std::list<QString> order; // front: most recently used
        QHash<QString, Entry> entries;
        QHash<QString, std::vector<ReadCallback>> loading; // key -> callers waiting for its read
        ServerCacheStats stats;

        void finishLoad(const QString &key, const ReadResult &result);
        void insertLocked(const QString &key, const QByteArray &bytes);
        void evictLocked(qint64 budget);
    };

    std::shared_ptr<Core> d;
};

} // namespace surfing
