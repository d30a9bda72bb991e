#include "inference/weightstream.h"

#include "base/error.h"
#include "cache/prefetchtuner.h"
#include "client/chunkarrival.h"
#include "client/chunksource.h"
#include "format/quant.h"
#include "format/safetensors.h"

#include <QHash>
#include <QtEndian>

#include <algorithm>

#include <optional>

namespace surfing {

struct WeightStream::Private {
    ChunkSource *source = nullptr;
    int depth = 0;
    int step = -1;
    QStringList order;
    QHash<QString, int> position;
    QHash<QString, LayerEvent> pending; // acquired, compute not finished yet
    std::function<void(const LayerEvent &)> sink;
    std::optional<PrefetchTuner> tuner; // adaptive window
    qint64 timedStepStartNs = -1;       // a next-token step being timed for the tuner

    // The parsed header of the chunk each unit last came in. Parsing the JSON header again at
    // every step was a fifth of a small model's time per token. The parse depends only on the
    // header bytes and the chunk's size, so equal ones reuse it (bytes are compared, not
    // addresses: a freed chunk's address can come back holding another).
    struct ParsedChunk {
        QByteArray headerBytes;
        qsizetype size = 0;
        SafetensorsHeader header;
    };
    QHash<QString, ParsedChunk> parsed;
    // Units handed out while arriving, until their compute scope ends: their fetch's end and
    // the time compute waited for their bytes go into their LayerEvent then.
    QHash<QString, std::shared_ptr<ChunkArrival>> arriving;

    // `arrival`: the chunk is still arriving, and only its first `verified` bytes (its header)
    // may be read in `chunk` yet.
    const SafetensorsHeader &headerOf(const QString &unit, QByteArrayView chunk, ChunkArrival *arrival = nullptr,
                                      qint64 verified = -1)
    {
        auto it = parsed.find(unit);
        // Equal sizes guarantee the chunk holds at least the remembered header's bytes.
        const qint64 readable = arrival ? verified : chunk.size();
        if (it != parsed.end() && it->size == chunk.size() && it->headerBytes.size() <= readable
            && chunk.first(it->headerBytes.size()) == it->headerBytes)
            return it->header;
        // Throw on a bad chunk. Equal headers later mean equal bytes: every receipt is verified
        // against the manifest before it gets here.
        SafetensorsHeader header = parseSafetensors(chunk, unit);
        // Block scales are checked before any is used: over the whole chunk, verified.
        const bool quantized = std::any_of(header.tensors.cbegin(), header.tensors.cend(),
                                           [](const TensorInfo &t) { return quant::quantTypeOf(t.dtype).has_value(); });
        if (arrival && quantized)
            chunk = QByteArrayView(arrival->waitFor(arrival->size()), arrival->size());
        quant::checkQuantizedTensors(header, chunk, QStringLiteral("chunk '%1'").arg(unit));
        const QByteArray headerBytes = chunk.first(header.dataOffset).toByteArray(); // length prefix + JSON
        it = parsed.insert(unit, ParsedChunk{headerBytes, chunk.size(), std::move(header)});
        return it->header;
    }

    // The verified header of a chunk still arriving (all of it, up to the chunk's end when the
    // length prefix claims more: parsing then names the damage).
    const SafetensorsHeader &arrivingHeaderOf(const QString &unit, ChunkArrival &arrival)
    {
        const qint64 size = arrival.size();
        const char *base = arrival.waitFor(qMin<qint64>(8, size));
        const quint64 jsonBytes = size >= 8 ? qFromLittleEndian<quint64>(base) : 0;
        const qint64 headerEnd = jsonBytes > quint64(size) ? size : qMin<qint64>(size, 8 + qint64(jsonBytes));
        base = arrival.waitFor(headerEnd);
        return headerOf(unit, QByteArrayView(base, size), &arrival, headerEnd);
    }

    void setOrder(const QStringList &units)
    {
        order = units;
        position.clear();
        for (int i = 0; i < units.size(); ++i)
            position.insert(units[i], i);
    }

    // Keeps `depth` chunks on their way: walks the order from `from`, wrapping to the head (a
    // decoder walks the same order every step, so the last layers of one step prefetch the first
    // units of the next), past the units already in the cache, until `depth` of them are coming.
    // Counting only what has to come starts a fetch as early as the window allows: when most
    // layers are cached, the next one that is not can be many layers ahead, and a window of
    // `depth` units would ask for it only a layer or two before compute needs it. The memory
    // bound is the same (`depth` chunks beside the budget). The walk stops after
    // kLookaheadUnits, so a long order (mixture-of-experts units) costs little per acquire.
    void prefetchFrom(int from)
    {
        constexpr int kLookaheadUnits = 64;
        const int n = order.size();
        int coming = 0;
        for (int k = 0; k < n && k < kLookaheadUnits && coming < depth; ++k)
            coming += source->prefetch(order[(from + k) % n]) ? 1 : 0;
    }
};

WeightStream::WeightStream(ChunkSource &source, int prefetchDepth)
    : d(std::make_shared<Private>())
{
    d->source = &source;
    setPrefetchDepth(prefetchDepth);
}

void WeightStream::setPrefetchDepth(int depth, bool adaptive)
{
    d->depth = qMax(0, depth);
    if (!adaptive)
        d->tuner.reset();
    else if (!d->tuner || d->tuner->maxDepth() != d->depth)
        d->tuner.emplace(d->depth);
}

int WeightStream::prefetchDepth() const
{
    return d->depth;
}

bool WeightStream::isPrefetchAdaptive() const
{
    return d->tuner.has_value();
}

void WeightStream::beginStep(const QStringList &unitOrder, StepKind kind)
{
    ++d->step;
    d->pending.clear();
    d->arriving.clear();
    d->timedStepStartNs = -1;
    if (d->tuner) {
        d->depth = kind == StepKind::NextToken ? d->tuner->depth() : d->tuner->maxDepth();
        if (kind == StepKind::NextToken)
            d->timedStepStartNs = timelineClockNs();
        else
            d->tuner->promptStepRan();
    }
    if (unitOrder != d->order)
        d->setOrder(unitOrder);
    d->prefetchFrom(0);
}

void WeightStream::replan(const QString &after, const QString &prefix, const QStringList &units)
{
    const auto pos = d->position.constFind(after);
    if (pos == d->position.constEnd())
        throw Error(QStringLiteral("unit '%1' was not announced for step %2 (beginStep)").arg(after).arg(d->step));
    const int from = *pos + 1;
    int end = from;
    while (end < d->order.size() && d->order[end].startsWith(prefix)) {
        if (!units.contains(d->order[end]))
            d->source->releasePrefetch(d->order[end]);
        ++end;
    }
    d->setOrder(d->order.mid(0, from) + units + d->order.mid(end));
    d->prefetchFrom(from);
}

UnitWeights WeightStream::acquire(const QString &unit)
{
    const auto pos = d->position.constFind(unit);
    if (pos == d->position.constEnd())
        throw Error(QStringLiteral("unit '%1' was not announced for step %2 (beginStep)").arg(unit).arg(d->step));
    d->source->setUpcoming(d->order, *pos);
    d->prefetchFrom(*pos + 1);

    ChunkFetch fetch;
    const qint64 asked = timelineClockNs();
    ChunkSource::Acquired got = d->source->acquireArriving(unit, &fetch);
    if (!got.bytes && !got.arrival)
        throw Error(QStringLiteral("chunk '%1' could not be fetched").arg(unit));
    LayerEvent event;
    event.step = d->step;
    event.unit = unit;
    event.cacheHit = fetch.cacheHit;
    event.prefetched = fetch.prefetched;
    event.bytes = fetch.bytes;
    event.fetchStartNs = fetch.fetchStartNs;
    event.fetchEndNs = fetch.fetchEndNs;
    event.waitNs = fetch.waitNs > 0 ? fetch.waitNs : (fetch.cacheHit ? 0 : timelineClockNs() - asked);
    if (got.arrival) {
        // Its fetch ends, and compute waits for its rows, inside the compute scope.
        const SafetensorsHeader &header = d->arrivingHeaderOf(unit, *got.arrival);
        event.waitNs = timelineClockNs() - asked;
        event.arriving = true;
        d->pending.insert(unit, event);
        d->arriving.insert(unit, got.arrival);
        return UnitWeights::fromArrival(std::move(got.arrival), unit, header);
    }
    d->pending.insert(unit, event);
    const SafetensorsHeader &header = d->headerOf(unit, *got.bytes);
    return UnitWeights::fromSafetensors(std::move(got.bytes), unit, header);
}

void WeightStream::setEventSink(std::function<void(const LayerEvent &)> sink)
{
    d->sink = std::move(sink);
}

int WeightStream::step() const
{
    return d->step;
}

WeightStream::ComputeScope::ComputeScope(WeightStream &stream, QString unit)
    : m_stream(stream), m_unit(std::move(unit))
{
    auto it = m_stream.d->pending.find(m_unit);
    if (it == m_stream.d->pending.end()) {
        // Compute on weights kept from earlier in the step (a tied LM head): nothing was fetched.
        LayerEvent event;
        event.step = m_stream.d->step;
        event.unit = m_unit;
        event.cacheHit = true;
        it = m_stream.d->pending.insert(m_unit, event);
    }
    it->computeStartNs = timelineClockNs();
}

WeightStream::ComputeScope::~ComputeScope()
{
    const auto it = m_stream.d->pending.find(m_unit);
    if (it == m_stream.d->pending.end())
        return;
    LayerEvent event = *it;
    m_stream.d->pending.erase(it);
    event.computeEndNs = timelineClockNs();
    Private &d = *m_stream.d;
    if (const std::shared_ptr<ChunkArrival> arrival = d.arriving.take(m_unit)) {
        const qint64 verifiedAt = arrival->verifiedAtNs();
        event.fetchEndNs = verifiedAt > 0 ? qMin(verifiedAt, event.computeEndNs) : event.computeEndNs;
        event.waitNs += arrival->waitedNs();
    }
    // The last unit of a timed step: the step's time, from its start to here, goes to the tuner.
    if (d.timedStepStartNs >= 0 && !d.order.isEmpty() && m_unit == d.order.last()) {
        d.tuner->stepMeasured((event.computeEndNs - d.timedStepStartNs) / 1e9);
        d.timedStepStartNs = -1;
    }
    if (d.sink)
        d.sink(event);
}

} // namespace surfing
