#include "client/fetchingchunksource.h"

#include "base/error.h"
#include "cache/chunkbufferpool.h"
#include "client/chunkverifier.h"

#include <QLoggingCategory>
#include <QThread>
#include <QtConcurrent>

Q_DECLARE_LOGGING_CATEGORY(lcClient)

namespace surfing {

FetchingChunkSource::FetchingChunkSource(CachePolicyKind policy)
    : m_cache(std::make_shared<ClientCache>(policy)), m_compressed(std::make_unique<CompressedChunkCache>(policy))
{
    m_tierPool.setMaxThreadCount(qBound(1, QThread::idealThreadCount(), 2));
}

FetchingChunkSource::~FetchingChunkSource()
{
    m_tierPool.waitForDone(); // subclasses have called stopCompressedDecodes(); a backstop
    ChunkBufferPool::instance().grant(-m_layersInFlightPeakBytes);
}

void FetchingChunkSource::setCompressedCacheBudget(qint64 maxBytes)
{
    m_compressed->setBudget(maxBytes);
}

void FetchingChunkSource::stopCompressedDecodes()
{
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_tierPool.waitForDone();
}

qint64 FetchingChunkSource::fetchesStarted() const
{
    std::lock_guard lock(m_mutex);
    return m_fetchesStarted;
}

qint64 FetchingChunkSource::storedBytesArrived() const
{
    std::lock_guard lock(m_mutex);
    return m_storedBytesArrived;
}

qint64 FetchingChunkSource::arrivalsHandedOut() const
{
    std::lock_guard lock(m_mutex);
    return m_arrivalsHandedOut;
}

void FetchingChunkSource::requireKnown(const QString &name) const
{
    if (!manifest().find(name))
        throw Error(QStringLiteral("chunk '%1' is not in the manifest of %2").arg(name, origin()));
}

void FetchingChunkSource::startLocked(const QString &name)
{
    m_prefetchReceipts.remove(name); // an earlier prefetch of it was evicted unused
    const auto job = std::make_shared<InFlight>();
    const ManifestChunk *chunk = manifest().find(name);
    if (chunk->codec == ChunkCodec::None)
        job->arrival = std::make_shared<ChunkArrival>(name, chunk->storedBytes);
    m_inFlight.insert(name, job);
    grantLayersInFlightPeakLocked();
    const QByteArray compressed = m_stopping ? QByteArray() : m_compressed->lookup(name);
    if (!compressed.isEmpty()) {
        decodeFromTier(name, compressed);
        return;
    }
    ++m_fetchesStarted;
    startFetch(name);
}

// The buffer pool may keep, beside the caches' budgets, as many bytes of layers as were ever on
// their way at once (the prefetch window and the layer compute waits for): they were live
// together, so keeping them raises no peak. With the budget alone, three layers that came free
// at a token's turn did not fit: one went back to the kernel and was faulted in again moments
// later, which in a VM that returns freed memory to its host (free page reporting) took
// 250-400 ms per 45 MB chunk (1 GB f32 model, 128 MiB budget, prefetch 2). Chunks that are not
// layers (the embedding) count not: they are fetched once and held, not refilled.
void FetchingChunkSource::grantLayersInFlightPeakLocked()
{
    qint64 bytes = 0;
    for (auto it = m_inFlight.cbegin(); it != m_inFlight.cend(); ++it) {
        const ManifestChunk *chunk = manifest().find(it.key());
        if (chunk->index >= 0)
            bytes += chunk->storedBytes;
    }
    if (bytes <= m_layersInFlightPeakBytes)
        return;
    ChunkBufferPool::instance().grant(bytes - m_layersInFlightPeakBytes);
    m_layersInFlightPeakBytes = bytes;
}

void FetchingChunkSource::decodeFromTier(const QString &name, const QByteArray &compressed)
{
    (void)QtConcurrent::run(&m_tierPool, [this, name, compressed] {
        const qint64 startNs = timelineClockNs();
        try {
            // The same gate as a receipt: the bytes must still be the verified ones (keyed tag,
            // or SHA-256 against the manifest), so decoding starts only from verified bytes.
            const QByteArray decoded = verifyAndDecodeChunk(compressed, *manifest().find(name), origin());
            delivered(name, decoded, 0, startNs, timelineClockNs());
        } catch (const std::bad_alloc &) {
            failed(name, QStringLiteral("chunk '%1' of %2: out of memory while decoding it").arg(name, origin()));
        } catch (const Error &e) {
            refetchAfterRefusal(name, e.message());
        }
    });
}

void FetchingChunkSource::refetchAfterRefusal(const QString &name, const QString &why)
{
    qCWarning(lcClient).noquote() << "compressed cache: refusing its copy, fetching it again:" << why;
    m_compressed->refuse(name);
    {
        std::lock_guard lock(m_mutex);
        if (m_inFlight.contains(name) && !m_stopping) {
            ++m_fetchesStarted;
            startFetch(name);
            return;
        }
    }
    failed(name, QStringLiteral("chunk '%1': %2").arg(name, why));
}

bool FetchingChunkSource::prefetch(const QString &name)
{
    if (!manifest().find(name))
        return false;
    std::lock_guard lock(m_mutex);
    if (m_inFlight.contains(name))
        return true;
    switch (m_cache->residency(name)) {
    case ClientCache::Residency::InBudget: return false;
    case ClientCache::Residency::PrefetchPending: return true;
    case ClientCache::Residency::Absent: break;
    }
    startLocked(name);
    return true;
}

void FetchingChunkSource::releasePrefetch(const QString &name)
{
    std::lock_guard lock(m_mutex);
    if (const auto job = m_inFlight.value(name)) {
        job->released = true;
        return;
    }
    m_cache->releasePrefetch(name);
}

std::shared_ptr<const QByteArray> FetchingChunkSource::handOut(std::shared_ptr<const QByteArray> bytes) const
{
    const QByteArray *raw = bytes.get();
    return std::shared_ptr<const QByteArray>(raw, [held = std::move(bytes), cache = std::weak_ptr<ClientCache>(m_cache)](const QByteArray *) mutable {
        ChunkBufferPool::instance().recycle(held); // when it was evicted while compute held it
        if (const auto alive = cache.lock())
            alive->trim();
    });
}

std::shared_ptr<const QByteArray> FetchingChunkSource::hitLocked(const QString &name, std::shared_ptr<const QByteArray> bytes,
                                                                  ChunkFetch *fetch, qint64 askedNs)
{
    const auto receipt = m_prefetchReceipts.constFind(name);
    if (fetch && receipt != m_prefetchReceipts.constEnd())
        *fetch = ChunkFetch{true, receipt->storedBytes, receipt->startNs, receipt->endNs, timelineClockNs() - askedNs, true};
    else if (fetch)
        *fetch = ChunkFetch{true, 0, 0, 0, timelineClockNs() - askedNs};
    if (receipt == m_prefetchReceipts.constEnd())
        m_compressed->remove(name); // reused from the decoded tier: hot there, room here for another
    m_prefetchReceipts.remove(name);
    return handOut(std::move(bytes));
}

std::shared_ptr<const QByteArray> FetchingChunkSource::waitLocked(std::unique_lock<std::mutex> &lock, const QString &name,
                                                                   const std::shared_ptr<InFlight> &job, ChunkFetch *fetch,
                                                                   qint64 askedNs)
{
    const quint64 generation = m_waitGeneration;
    m_arrived.wait(lock, [&] { return job->done || m_waitGeneration != generation; });
    if (!job->done)
        throw Error(QStringLiteral("waiting for chunk '%1' was cancelled").arg(name));
    if (!job->error.isEmpty())
        throw Error(job->error);
    if (fetch)
        *fetch = ChunkFetch{false, job->storedBytes, job->startNs, job->endNs, timelineClockNs() - askedNs};
    return handOut(job->bytes);
}

std::shared_ptr<const QByteArray> FetchingChunkSource::acquire(const QString &name, ChunkFetch *fetch)
{
    requireKnown(name);
    const qint64 askedNs = timelineClockNs();
    std::unique_lock lock(m_mutex);
    if (auto bytes = m_cache->lookup(name))
        return hitLocked(name, std::move(bytes), fetch, askedNs);
    if (!m_inFlight.contains(name))
        startLocked(name);
    const std::shared_ptr<InFlight> job = m_inFlight.value(name);
    ++job->waiters;
    return waitLocked(lock, name, job, fetch, askedNs);
}

ChunkSource::Acquired FetchingChunkSource::acquireArriving(const QString &name, ChunkFetch *fetch)
{
    requireKnown(name);
    const qint64 askedNs = timelineClockNs();
    std::unique_lock lock(m_mutex);
    if (auto bytes = m_cache->lookup(name))
        return {hitLocked(name, std::move(bytes), fetch, askedNs), nullptr};
    if (!m_inFlight.contains(name))
        startLocked(name);
    const std::shared_ptr<InFlight> job = m_inFlight.value(name);
    ++job->waiters;
    if (const std::shared_ptr<ChunkArrival> arrival = job->arrival) {
        lock.unlock();
        // A first receipt is checked with SHA-256 once it is whole: no receipt begins, and the
        // wait ends with the fetch.
        if (arrival->waitForReceipt()) {
            lock.lock();
            ++m_arrivalsHandedOut;
            lock.unlock();
            if (fetch)
                *fetch = ChunkFetch{false, arrival->size(), arrival->requestStartNs(), 0, timelineClockNs() - askedNs};
            return {nullptr, arrival};
        }
        lock.lock();
    }
    return {waitLocked(lock, name, job, fetch, askedNs), nullptr};
}

std::shared_ptr<ChunkArrival> FetchingChunkSource::arrivalOf(const QString &name) const
{
    std::lock_guard lock(m_mutex);
    const std::shared_ptr<InFlight> job = m_inFlight.value(name);
    return job ? job->arrival : nullptr;
}

void FetchingChunkSource::cancelWaits()
{
    {
        std::lock_guard lock(m_mutex);
        ++m_waitGeneration;
        for (const std::shared_ptr<InFlight> &job : std::as_const(m_inFlight)) {
            if (job->arrival)
                job->arrival->cancelWaits();
        }
    }
    m_arrived.notify_all();
}

void FetchingChunkSource::delivered(const QString &name, const QByteArray &decoded, qint64 storedBytes,
                                    qint64 startNs, qint64 endNs, const QByteArray &compressed)
{
    if (!compressed.isEmpty()) {
        const ManifestChunk *chunk = manifest().find(name);
        if (chunk && chunk->codec != ChunkCodec::None && compressed.size() == chunk->storedBytes)
            m_compressed->insert(name, compressed);
    }
    {
        // Held only under the lock: once the waiter is woken, the cache and the waiter are the
        // only owners, so the chunk is evictable as soon as compute lets go of it.
        auto bytes = std::make_shared<const QByteArray>(decoded);
        std::lock_guard lock(m_mutex);
        const std::shared_ptr<InFlight> job = m_inFlight.take(name);
        if (!job)
            return;
        m_storedBytesArrived += storedBytes;
        job->done = true;
        job->bytes = bytes;
        job->storedBytes = storedBytes;
        job->startNs = startNs;
        job->endNs = endNs;
        // Nobody waits yet: a prefetch, pinned until its first use (unless released meanwhile).
        m_cache->insert(name, bytes, job->waiters == 0 && !job->released);
        if (job->waiters == 0)
            m_prefetchReceipts.insert(name, Receipt{storedBytes, startNs, endNs});
        if (job->arrival)
            job->arrival->complete(handOut(bytes));
    }
    m_arrived.notify_all();
}

void FetchingChunkSource::failed(const QString &name, const QString &message)
{
    fail(name, message, false);
}

void FetchingChunkSource::fail(const QString &name, const QString &message, bool closing)
{
    {
        std::lock_guard lock(m_mutex);
        const std::shared_ptr<InFlight> job = m_inFlight.take(name);
        if (!job)
            return;
        job->done = true;
        job->error = message;
        if (job->arrival)
            job->arrival->fail(message);
        // A failed prefetch: acquire() will try again and report. Once the source is closed
        // nothing will, and the prefetches still in flight at the end of a run are no news.
        if (job->waiters == 0 && !closing)
            qCWarning(lcClient).noquote() << "prefetch failed:" << message;
    }
    m_arrived.notify_all();
}

void FetchingChunkSource::failAll(const QString &message)
{
    QStringList names;
    {
        std::lock_guard lock(m_mutex);
        names = m_inFlight.keys();
    }
    for (const QString &name : names)
        fail(name, QStringLiteral("chunk '%1': %2").arg(name, message), true);
}

} // namespace surfing
