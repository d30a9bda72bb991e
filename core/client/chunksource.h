// What inference pulls weights through: decoded, hash-verified chunk bytes by name, with a cache
// and prefetch behind it. Implemented over a weight server (RemoteChunkSource) and over a local
// chunk directory (LocalChunkSource); the compute code cannot tell them apart.
#pragma once

#include "format/chunkmanifest.h"

#include <QByteArray>
#include <QString>
#include <QStringList>
#include <memory>

namespace surfing {

class ChunkArrival;

// How one acquire() was served, for stats and the per-layer timeline.
struct ChunkFetch {
    bool cacheHit = false;   // already in the client cache (or fully prefetched) when asked for
    qint64 bytes = 0;        // stored bytes moved for it (0 on a hit, unless prefetched)
    qint64 fetchStartNs = 0; // steady-clock nanoseconds (see timelineClockNs()); 0 on a hit,
    qint64 fetchEndNs = 0;   // unless prefetched
    qint64 waitNs = 0;       // how long acquire() blocked the caller
    bool prefetched = false; // a hit on a prefetched chunk's first use: bytes and times are its fetch's
};

class ChunkSource
{
public:
    virtual ~ChunkSource() = default;

    virtual const ChunkManifest &manifest() const = 0;

    // Starts fetching a chunk in the background unless it is cached or already in flight.
    // Returns at once whether the chunk is on its way: in flight, or prefetched and not used yet
    // (either way it holds a place in the prefetch window); false when it is simply in the cache,
    // or not in the manifest. Thread-safe.
    virtual bool prefetch(const QString &name) = 0;

    // Where compute is in the order it walks: it will ask for order[next] next, then on in order,
    // wrapping to the head. Lets the cache keep what is needed soonest. Thread-safe.
    virtual void setUpcoming(const QStringList &order, int next) { Q_UNUSED(order); Q_UNUSED(next); }

    // A prefetch that turned out not to be needed (a mixture-of-experts guess the router did not
    // confirm): its chunk no longer needs to stay pinned outside the cache budget. Thread-safe.
    virtual void releasePrefetch(const QString &name) { Q_UNUSED(name); }

    // Blocks the calling (compute) thread until the chunk is available, and returns its decoded
    // safetensors bytes. Throws surfing::Error naming the chunk when it cannot be had (network,
    // hash mismatch, not in the manifest): a layer is never silently replaced. Thread-safe; never
    // call it on the network thread.
    virtual std::shared_ptr<const QByteArray> acquire(const QString &name, ChunkFetch *fetch = nullptr) = 0;

    // acquire(), except that a chunk on its way whose bytes are verified block by block as they
    // land comes back at once as an arrival (client/chunkarrival.h), which compute reads as it
    // grows. Exactly one of the two is set. Same errors and thread rules as acquire().
    struct Acquired {
        std::shared_ptr<const QByteArray> bytes;
        std::shared_ptr<ChunkArrival> arrival;
    };
    virtual Acquired acquireArriving(const QString &name, ChunkFetch *fetch = nullptr) { return {acquire(name, fetch), nullptr}; }
};

// Monotonic nanoseconds shared by every timeline event in the process.
qint64 timelineClockNs();

} // namespace surfing
