#include "client/chunkarrival.h"

#include "base/error.h"
#include "client/chunksource.h"

#include <QScopeGuard>

#include <limits>

namespace surfing {

ChunkArrival::ChunkArrival(QString name, qint64 size) : m_name(std::move(name)), m_size(size) {}

int ChunkArrival::beginReceipt(QByteArray buffer, qint64 requestStartNs)
{
    int index = 0;
    {
        std::lock_guard lock(m_mutex);
        if (m_receipts.empty())
            m_requestStartNs = requestStartNs;
        m_receipts.push_back(Receipt{std::move(buffer), 0});
        index = int(m_receipts.size()) - 1;
    }
    m_changed.notify_all();
    return index;
}

void ChunkArrival::advance(int receipt, qint64 verifiedBytes)
{
    std::unique_lock lock(m_mutex);
    if (receipt < 0 || receipt >= int(m_receipts.size()))
        return;
    Receipt &r = m_receipts[size_t(receipt)];
    r.verified = qBound<qint64>(r.verified, verifiedBytes, qMin<qint64>(m_size, r.buffer.size()));
    if (r.verified == m_size && m_verifiedAtNs == 0)
        m_verifiedAtNs = timelineClockNs();
    // A reader is waiting for these bytes: read them here, while they are in this core's cache.
    bool readerDone = false;
    if (Reading *reading = m_reading; reading && !reading->busy && r.verified > reading->next) {
        const qint64 upTo = qMin(reading->end, r.verified);
        const char *base = r.buffer.constData();
        reading->busy = true;
        lock.unlock();
        (*reading->read)(base, upTo);
        lock.lock();
        reading->busy = false;
        reading->next = upTo;
        readerDone = upTo == reading->end;
    }
    // Wake compute only when what it waits for is here: a wake-up per 256 KiB block costs the
    // two cores more than the product it would allow (a context switch each way).
    const bool wake = readerDone || r.verified >= m_wakeAt;
    if (wake)
        m_wakeAt = std::numeric_limits<qint64>::max();
    lock.unlock();
    if (wake)
        m_changed.notify_all();
}

void ChunkArrival::complete(std::shared_ptr<const QByteArray> bytes)
{
    {
        std::lock_guard lock(m_mutex);
        m_ended = true;
        if (bytes && bytes->size() == m_size) {
            m_delivered = std::move(bytes);
            if (m_verifiedAtNs == 0)
                m_verifiedAtNs = timelineClockNs();
        }
    }
    m_changed.notify_all();
}

void ChunkArrival::fail(const QString &message)
{
    {
        std::lock_guard lock(m_mutex);
        m_ended = true;
        m_error = message;
    }
    m_changed.notify_all();
}

void ChunkArrival::cancelWaits()
{
    {
        std::lock_guard lock(m_mutex);
        ++m_cancelGeneration;
    }
    m_changed.notify_all();
}

void ChunkArrival::throwIfOverLocked(qint64 end) const
{
    if (end > m_size)
        throw Error(QStringLiteral("chunk '%1': byte %2 asked for, it has %3").arg(m_name).arg(end).arg(m_size));
}

const char *ChunkArrival::waitFor(qint64 end, qint64 *available)
{
    const qint64 askedNs = timelineClockNs();
    std::unique_lock lock(m_mutex);
    throwIfOverLocked(end);
    const quint64 generation = m_cancelGeneration;
    qint64 verified = 0;
    const char *base = nullptr;
    const auto ready = [&] {
        base = verifiedPastLocked(end - 1, &verified);
        return base || m_ended || m_cancelGeneration != generation;
    };
    if (!ready()) {
        m_changed.wait(lock, [&] {
            m_wakeAt = qMin(m_wakeAt, end);
            return ready();
        });
        m_waitedNs += timelineClockNs() - askedNs;
    }
    if (!base)
        throwEndedLocked(generation);
    if (available)
        *available = verified;
    return base;
}

const char *ChunkArrival::verifiedPastLocked(qint64 from, qint64 *verified) const
{
    if (m_delivered) {
        *verified = m_size;
        return m_delivered->constData();
    }
    const Receipt *best = nullptr;
    for (const Receipt &r : m_receipts) {
        if (r.verified > from && (!best || r.verified > best->verified))
            best = &r;
    }
    *verified = best ? best->verified : 0;
    return best ? best->buffer.constData() : nullptr;
}

void ChunkArrival::throwEndedLocked(quint64 generation) const
{
    if (m_cancelGeneration != generation)
        throw Error(QStringLiteral("waiting for chunk '%1' was cancelled").arg(m_name));
    if (m_ended)
        throw Error(m_error.isEmpty() ? QStringLiteral("chunk '%1' could not be fetched").arg(m_name) : m_error);
}

void ChunkArrival::readAsVerified(qint64 begin, qint64 end, const std::function<void(const char *, qint64)> &read)
{
    std::unique_lock lock(m_mutex);
    throwIfOverLocked(end);
    Reading reading{begin, end, &read, false};
    m_reading = &reading;
    // Runs before `lock` lets go, on every way out: nothing reads for this call afterwards.
    const auto done = qScopeGuard([this] { m_reading = nullptr; });
    const quint64 generation = m_cancelGeneration;
    while (reading.busy || reading.next < end) {
        qint64 verified = 0;
        const char *base = reading.busy ? nullptr : verifiedPastLocked(reading.next, &verified);
        if (base) {
            const qint64 upTo = qMin(end, verified);
            reading.busy = true;
            lock.unlock();
            read(base, upTo);
            lock.lock();
            reading.busy = false;
            reading.next = upTo;
            continue;
        }
        if (!reading.busy)
            throwEndedLocked(generation);
        const qint64 waitStartNs = timelineClockNs();
        m_changed.wait(lock);
        m_waitedNs += timelineClockNs() - waitStartNs;
    }
}

bool ChunkArrival::waitForReceipt()
{
    std::unique_lock lock(m_mutex);
    const quint64 generation = m_cancelGeneration;
    m_changed.wait(lock, [&] { return !m_receipts.empty() || m_ended || m_cancelGeneration != generation; });
    if (m_receipts.empty() && !m_ended)
        throwEndedLocked(generation); // cancelled
    return !m_receipts.empty() && !m_delivered && m_error.isEmpty();
}

qint64 ChunkArrival::requestStartNs() const
{
    std::lock_guard lock(m_mutex);
    return m_requestStartNs;
}

qint64 ChunkArrival::verifiedAtNs() const
{
    std::lock_guard lock(m_mutex);
    return m_verifiedAtNs;
}

qint64 ChunkArrival::waitedNs() const
{
    std::lock_guard lock(m_mutex);
    return m_waitedNs;
}

} // namespace surfing
