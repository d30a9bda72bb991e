// The ChunkSource machinery shared by the remote and the local source: a ClientCache, prefetch
// with at most one fetch per chunk in flight, and acquire() blocking the compute thread on a
// condition variable until the chunk arrives or fails. Subclasses only start fetches and
// report their outcome through delivered() / failed(), from any thread.
// Below the decoded cache an optional compressed tier (setCompressedCacheBudget()) keeps the
// received bytes of compressed chunks; a chunk it holds is decoded from there on a pool thread
// instead of fetched, through the same in-flight bookkeeping as a fetch.
#pragma once

#include "cache/clientcache.h"
#include "cache/compressedchunkcache.h"
#include "client/chunkarrival.h"
#include "client/chunksource.h"

#include <QHash>
#include <QString>
#include <QThreadPool>
#include <condition_variable>
#include <mutex>

namespace surfing {

class FetchingChunkSource : public ChunkSource
{
public:
    explicit FetchingChunkSource(CachePolicyKind policy = CachePolicyKind::ScanResistant);
    ~FetchingChunkSource() override;

    bool prefetch(const QString &name) override;
    void releasePrefetch(const QString &name) override;
    void setUpcoming(const QStringList &order, int next) override { m_cache->setUpcoming(order, next); }
    std::shared_ptr<const QByteArray> acquire(const QString &name, ChunkFetch *fetch = nullptr) override;
    Acquired acquireArriving(const QString &name, ChunkFetch *fetch = nullptr) override;
    // The arrival of an uncompressed chunk being fetched, for the transport to publish its
    // verified bytes into; null otherwise. Thread-safe.
    std::shared_ptr<ChunkArrival> arrivalOf(const QString &name) const;
    // Thread-safe: acquire() calls waiting now throw surfing::Error ("cancelled"); their fetches
    // go on, and later calls wait as usual. For Ctrl+C while one large chunk is on its way.
    void cancelWaits();

    ClientCache &cache() { return *m_cache; }
    const ClientCache &cache() const { return *m_cache; }
    // The compressed tier's budget in bytes; <= 0 (the default) turns it off. Only chunks stored
    // compressed (`chunk --compress`) enter it.
    void setCompressedCacheBudget(qint64 maxBytes);
    CompressedChunkCache &compressedCache() { return *m_compressed; }
    const CompressedChunkCache &compressedCache() const { return *m_compressed; }
    // Requests that went out (a chunk in flight is never requested twice).
    qint64 fetchesStarted() const;
    // Stored bytes of every chunk delivered (what crossed the link or was read from disk).
    qint64 storedBytesArrived() const;
    // acquireArriving() calls answered with a chunk still arriving.
    qint64 arrivalsHandedOut() const;

protected:
    // Starts fetching `name` (known to be in the manifest); must not block.
    virtual void startFetch(const QString &name) = 0;
    // A human-readable origin for errors ("model 'bert' on ws://...", "directory /x").
    virtual QString origin() const = 0;

    // `compressed`: the verified received bytes when the chunk is stored compressed (for the
    // compressed tier); empty otherwise.
    void delivered(const QString &name, const QByteArray &decoded, qint64 storedBytes, qint64 startNs, qint64 endNs,
                   const QByteArray &compressed = {});
    void failed(const QString &name, const QString &message);
    // Fails every fetch in flight (the source is going away or the connection is gone for good).
    void failAll(const QString &message);
    // Waits for decodes from the compressed tier and starts no more; subclasses call it first in
    // their destructor (a decode that finds damaged bytes calls startFetch()).
    void stopCompressedDecodes();

private:
    void fail(const QString &name, const QString &message, bool closing);
    struct InFlight {
        int waiters = 0;
        bool done = false;
        bool released = false; // releasePrefetch() while in flight: arrives unpinned
        std::shared_ptr<const QByteArray> bytes;
        QString error;
        qint64 storedBytes = 0;
        qint64 startNs = 0;
        qint64 endNs = 0;
        std::shared_ptr<ChunkArrival> arrival; // uncompressed chunks
    };

    // What a prefetch moved, kept until the chunk's first use reports it.
    struct Receipt {
        qint64 storedBytes = 0;
        qint64 startNs = 0;
        qint64 endNs = 0;
    };

    void requireKnown(const QString &name) const;
    // acquire()'s two outcomes, under m_mutex: a cache hit, and the end of a fetch it waited for.
    std::shared_ptr<const QByteArray> hitLocked(const QString &name, std::shared_ptr<const QByteArray> bytes,
                                                ChunkFetch *fetch, qint64 askedNs);
    std::shared_ptr<const QByteArray> waitLocked(std::unique_lock<std::mutex> &lock, const QString &name,
                                                 const std::shared_ptr<InFlight> &job, ChunkFetch *fetch, qint64 askedNs);
    // Wraps bytes going to a caller so that letting go of them trims the cache at once: a layer
    // compute is done with leaves while the next chunk is still on its way, not at its arrival.
    std::shared_ptr<const QByteArray> handOut(std::shared_ptr<const QByteArray> bytes) const;
    void startLocked(const QString &name);
    void grantLayersInFlightPeakLocked();
    void decodeFromTier(const QString &name, const QByteArray &compressed);
    void refetchAfterRefusal(const QString &name, const QString &why);

    std::shared_ptr<ClientCache> m_cache; // shared with the release hooks of handed-out bytes
    std::unique_ptr<CompressedChunkCache> m_compressed;
    QThreadPool m_tierPool; // decodes from the compressed tier
    bool m_stopping = false;
    mutable std::mutex m_mutex;
    std::condition_variable m_arrived;
    QHash<QString, std::shared_ptr<InFlight>> m_inFlight;
    qint64 m_layersInFlightPeakBytes = 0; // granted to ChunkBufferPool while this source lives
    QHash<QString, Receipt> m_prefetchReceipts;
    qint64 m_fetchesStarted = 0;
    qint64 m_storedBytesArrived = 0;
    qint64 m_arrivalsHandedOut = 0;
    quint64 m_waitGeneration = 0; // bumped by cancelWaits()
};

} // namespace surfing
