// WeightClient, second half: the request queue, replies and chunk assembly.
#include "client/weightclient.h"

#include "base/error.h"
#include "base/sha256.h"
#include "cache/chunkbufferpool.h"
#include "client/chunksource.h"
#include "client/chunkverifier.h"
#include "client/memorylimit.h"
#include "client/weightclientpending.h"
#include "client/websocketclient.h"
#include "protocol/messages.h"
#include "protocol/piece.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QtConcurrent>

Q_DECLARE_LOGGING_CATEGORY(lcClient)

namespace surfing {

using namespace protocol;

namespace {
// The manifest gives no sizes for the files beside the chunks; the largest tokenizer.json files
// are tens of megabytes.
constexpr qint64 kMaxModelFileBytes = qint64(1) << 30;
} // namespace

// ---- requests (network thread) ---------------------------------------------------------------

QString WeightClient::describe(const Pending &p) const
{
    const QString model = modelName();
    switch (p.kind) {
    case Kind::Manifest: return QStringLiteral("manifest of model '%1'").arg(model);
    case Kind::File: return QStringLiteral("file '%1' of model '%2'").arg(p.name, model);
    case Kind::Chunk: break;
    }
    return QStringLiteral("chunk '%1' of model '%2'").arg(p.name, model);
}

void WeightClient::addRequest(quint32 id, Kind kind, const QString &name, bool stored)
{
    auto *p = new Pending;
    p->id = id;
    p->kind = kind;
    p->name = name;
    p->stored = stored;
    m_pending.insert(id, p);
    if (m_closing && kind != Kind::Manifest) {
        fail(id, QStringLiteral("connection"), QStringLiteral("%1: the client is closed").arg(describe(*p)));
        return;
    }
    if (kind == Kind::Manifest)
        m_queue.push_front(id);
    else
        m_queue.push_back(id);
    pump();
}

void WeightClient::cancelRequest(quint32 id)
{
    Pending *p = m_pending.value(id);
    if (!p || p->cancelled)
        return;
    if (!p->sent) {
        m_queue.erase(std::remove(m_queue.begin(), m_queue.end(), id), m_queue.end());
        finish(id);
        return;
    }
    // The id stays reserved until the server confirms, so it is not reused too early.
    p->cancelled = true;
    sendCancel(id);
}

void WeightClient::sendCancel(quint32 id)
{
    Request r;
    r.type = ClientMessageType::Cancel;
    r.id = id;
    if (m_socket && m_state == ConnectionState::Ready)
        m_socket->sendTextMessage(encodeRequest(r));
}

void WeightClient::abandon(quint32 id, const QString &code, const QString &message)
{
    // Not through cancelRequest(): that marks the request cancelled, and fail() keeps quiet
    // about cancelled requests, so whoever waits for this one would wait forever.
    Pending *p = m_pending.value(id);
    if (!p || p->cancelled)
        return;
    if (p->sent)
        sendCancel(id);
    fail(id, code, message);
}

void WeightClient::pump()
{
    if (m_state != ConnectionState::Ready || !m_welcomed)
        return;
    const qint64 now = WeightClient::nowMs();
    std::deque<quint32> later;
    while (!m_queue.empty() && m_inFlight < m_maxInFlight) {
        const quint32 id = m_queue.front();
        m_queue.pop_front();
        Pending *p = m_pending.value(id);
        if (!p || p->sent)
            continue;
        // Chunks wait for the manifest: without it their bytes cannot be checked.
        if ((p->kind != Kind::Manifest && !m_hasManifest) || p->notBeforeMs > now) {
            later.push_back(id);
            continue;
        }
        send(*p);
    }
    m_queue.insert(m_queue.begin(), later.begin(), later.end());
}

void WeightClient::failSoon(Pending &p, const QString &code, const QString &message)
{
    QMetaObject::invokeMethod(this, [this, id = p.id, code, message] { fail(id, code, message); }, Qt::QueuedConnection);
    p.sent = true; // keeps pump() from sending it while the failure is queued
    if (m_inFlight++ == 0)
        m_awaitingSinceMs = WeightClient::nowMs();
}

const ManifestChunk *WeightClient::chunkNamed(const QString &name) const
{
    const auto it = m_chunkIndex.constFind(name);
    return it == m_chunkIndex.constEnd() ? nullptr : &m_manifest.chunks.at(*it);
}

qint64 WeightClient::memoryLimit() const
{
    return m_options.maxChunkBytes > 0 ? m_options.maxChunkBytes : systemMemoryBytes();
}

void WeightClient::send(Pending &p)
{
    if (p.kind == Kind::Chunk) {
        // Nothing is asked for (nor allocated) that the manifest does not name, or that would
        // not fit in memory.
        const ManifestChunk *chunk = chunkNamed(p.name);
        if (!chunk)
            return failSoon(p, QStringLiteral("not_found"), QStringLiteral("%1: not in the manifest").arg(describe(p)));
        const qint64 need = chunkMemoryBytes(*chunk, p.stored);
        if (need > memoryLimit()) {
            const QString size = need == chunk->storedBytes
                                     ? QStringLiteral("is %1").arg(memorySize(need))
                                     : QStringLiteral("needs %1 to fetch and decode (%2 stored, %3 decoded)")
                                           .arg(memorySize(need), memorySize(chunk->storedBytes), memorySize(chunk->rawBytes));
            return failSoon(p, QStringLiteral("memory"),
                            QStringLiteral("%1: the manifest says it %2, more than this client can hold in memory (%3); "
                                           "refusing to fetch it").arg(describe(p), size, memorySize(memoryLimit())));
        }
    }
    QByteArray message;
    if (p.kind == Kind::File) {
        // docs/protocol.md, "Files beside the chunks": a get names a file instead of a chunk.
        message = QJsonDocument(QJsonObject{{"type", "get"}, {"id", double(p.id)}, {"model", modelName()},
                                            {"file", p.name}}).toJson(QJsonDocument::Compact);
    } else {
        Request r;
        r.type = p.kind == Kind::Manifest ? ClientMessageType::Manifest : ClientMessageType::Get;
        r.id = p.id;
        r.model = modelName();
        r.chunk = p.name;
        message = encodeRequest(r);
    }
    p.sent = true;
    if (p.startNs == 0)
        p.startNs = timelineClockNs();
    p.lastProgressMs = WeightClient::nowMs();
    if (m_inFlight++ == 0)
        m_awaitingSinceMs = p.lastProgressMs;
    m_socket->sendTextMessage(message);
}

void WeightClient::finish(quint32 id)
{
    Pending *p = m_pending.take(id);
    if (!p)
        return;
    if (p->sent)
        --m_inFlight;
    delete p;
    QMetaObject::invokeMethod(this, &WeightClient::pump, Qt::QueuedConnection);
}

void WeightClient::fail(quint32 id, const QString &code, const QString &message)
{
    Pending *p = m_pending.value(id);
    if (!p)
        return;
    const QString name = p->name;
    const bool silent = p->cancelled;
    const bool manifest = p->kind == Kind::Manifest;
    finish(id);
    if (silent)
        return;
    qCDebug(lcClient).noquote() << message;
    Q_EMIT requestFailed(id, name, code, message);
    if (manifest) {
        m_manifestRequested = false;
        failEverything(code, message); // nothing can be verified without it
    }
}

void WeightClient::handleServerError(quint32 id, const QString &code, const QString &message, qint64 retryAfterMs)
{
    Pending *p = m_pending.value(id);
    if (!p)
        return;
    if (p->cancelled) {
        finish(id);
        return;
    }
    const bool retry = code == QLatin1String("rate_limited")
                       || (code == QLatin1String("internal") && ++p->internalRetries <= m_options.maxInternalRetries);
    if (!retry) {
        fail(id, code, QStringLiteral("%1: server says %2: %3").arg(describe(*p), code, message));
        return;
    }
    const qint64 wait = retryAfterMs >= 0 ? retryAfterMs
                                          : qMin<qint64>(m_options.maxBackoffMs, qint64(m_options.initialBackoffMs) << qMin(p->internalRetries, 20));
    m_retries.fetchAndAddRelaxed(1);
    qCDebug(lcClient) << "retrying" << describe(*p) << "after" << code << "in" << wait << "ms";
    p->unsend();
    p->notBeforeMs = WeightClient::nowMs() + wait;
    --m_inFlight;
    m_queue.push_back(id);
}

void WeightClient::onText(const QByteArray &utf8)
{
    try {
        handleText(utf8);
    } catch (const ProtocolError &e) {
        qCWarning(lcClient).noquote() << "bad message from server:" << e.message();
        if (!m_welcomed) {
            failEverything(QStringLiteral("protocol"), QStringLiteral("server %1 does not speak protocol %2: %3")
                                                           .arg(m_options.url.toDisplayString()).arg(kProtocolVersion).arg(e.message()));
        } else if (e.requestId() && m_pending.contains(e.requestId())) {
            abandon(e.requestId(), QStringLiteral("protocol"), e.message());
        }
    } catch (const Error &e) {
        // The manifest did not parse: nothing can be verified against it.
        for (Pending *p : std::as_const(m_pending)) {
            if (p->kind == Kind::Manifest) {
                fail(p->id, QStringLiteral("protocol"), e.message());
                break;
            }
        }
    } catch (const std::bad_alloc &) {
        failEverything(QStringLiteral("memory"), QStringLiteral("out of memory reading a message of %1 from server %2")
                                                     .arg(memorySize(utf8.size()), m_options.url.toDisplayString()));
    }
}

void WeightClient::handleText(const QByteArray &utf8)
{
    if (!m_welcomed)
        return handleWelcome(utf8);
    const ServerMessage m = parseServerMessage(utf8);
    Pending *p = m.id ? m_pending.value(m.id) : nullptr;
    if (m.type == ServerMessageType::Error) {
        if (!p) {
            Q_EMIT errorOccurred(QStringLiteral("server %1: %2").arg(errorCodeName(m.error.code), m.error.message));
            if (m.error.code == ErrorCode::Unauthorized)
                failEverything(QStringLiteral("unauthorized"), m.error.message);
            return;
        }
        return handleServerError(m.id, errorCodeName(m.error.code), m.error.message, m.error.retryAfterMs);
    }
    if (!p)
        return; // an answer to something already cancelled or failed
    p->lastProgressMs = WeightClient::nowMs();
    if (m.type == ServerMessageType::Cancelled)
        finish(m.id);
    else if (m.type == ServerMessageType::Manifest && p->kind == Kind::Manifest)
        handleManifest(*p, m);
    else if (m.type == ServerMessageType::Chunk && p->kind != Kind::Manifest && !p->headerSeen)
        handleChunkHeader(*p, m);
    else
        throw ProtocolError(ErrorCode::BadRequest, QStringLiteral("%1: unexpected reply").arg(describe(*p)), m.id);
}

void WeightClient::handleManifest(Pending &p, const ServerMessage &m)
{
    const QByteArray json = QJsonDocument(m.manifest).toJson(QJsonDocument::Indented);
    ChunkManifest manifest = ChunkManifest::fromJson(
        json, QStringLiteral("manifest of model '%1' from %2").arg(m.model, m_options.url.toDisplayString()));
    QHash<QString, qsizetype> index;
    for (qsizetype i = 0; i < manifest.chunks.size(); ++i)
        index.insert(manifest.chunks.at(i).name, i);
    {
        QMutexLocker lock(&m_mutex);
        m_manifest = std::move(manifest);
        m_chunkIndex = std::move(index);
        m_manifestJson = json;
        m_hasManifest = true;
    }
    finish(p.id);
    Q_EMIT manifestReceived();
}

QString WeightClient::sizeProblem(const Pending &p, qint64 bytes) const
{
    if (p.kind == Kind::Chunk) {
        const ManifestChunk *chunk = chunkNamed(p.name);
        if (!chunk)
            return QStringLiteral("it is not in the manifest");
        if (bytes != chunk->storedBytes)
            return QStringLiteral("the server announces %1 bytes, the manifest says %2").arg(bytes).arg(chunk->storedBytes);
        return {};
    }
    const ManifestFile *file = m_manifest.findFile(p.name);
    if (file && file->hasChecksum()) {
        if (bytes != file->bytes)
            return QStringLiteral("the server announces %1 bytes, the manifest says %2").arg(bytes).arg(file->bytes);
        return {};
    }
    // A format-1 manifest gives no size for files beside the chunks (config.json, tokenizers).
    const qint64 limit = qMin(kMaxModelFileBytes, memoryLimit());
    if (bytes > limit)
        return QStringLiteral("the server announces %1 bytes, more than the %2 a model file may have here").arg(bytes).arg(limit);
    return {};
}

void WeightClient::handleChunkHeader(Pending &p, const ServerMessage &m)
{
    const quint32 id = p.id;
    if (m.chunk.chunk != p.name)
        throw ProtocolError(ErrorCode::BadRequest, QStringLiteral("%1: the server answered with '%2'").arg(describe(p), m.chunk.chunk), id);
    const QString problem = sizeProblem(p, m.chunk.size);
    if (!problem.isEmpty())
        throw ProtocolError(ErrorCode::BadRequest, QStringLiteral("%1: %2").arg(describe(p), problem), id);
    if (m.chunk.pieces != pieceCount(m.chunk.size, m_maxPieceBytes))
        throw ProtocolError(ErrorCode::BadRequest, QStringLiteral("%1: %2 pieces announced for %3 bytes")
                                                       .arg(describe(p)).arg(m.chunk.pieces).arg(m.chunk.size), id);
    try {
        p.data = ChunkBufferPool::instance().take(m.chunk.size); // the pieces are written into place
    } catch (const std::bad_alloc &) {
        p.data = QByteArray();
        return abandon(id, QStringLiteral("memory"), QStringLiteral("%1: out of memory for its %2")
                                                         .arg(describe(p), memorySize(m.chunk.size)));
    }
    p.headerSeen = true;
    p.header = m.chunk;
    p.received = 0;
    if (p.kind == Kind::Chunk)
        startBlockCheck(p);
    if (m.chunk.pieces == 0)
        completePieces(p);
}

void WeightClient::onBinary(const QByteArray &message)
{
    const std::optional<Piece> piece = parsePiece(message, m_maxPieceBytes);
    if (!piece) {
        qCWarning(lcClient) << "ignoring a malformed binary message of" << message.size() << "bytes";
        return;
    }
    Pending *p = m_pending.value(piece->requestId);
    if (!p || p->cancelled)
        return;
    const QString problem = pieceProblem(*p, piece->index, piece->payload.size());
    if (!problem.isEmpty()) {
        abandon(p->id, QStringLiteral("protocol"), QStringLiteral("%1: %2").arg(describe(*p), problem));
        return;
    }
    memcpy(writableEnd(*p), piece->payload.data(), size_t(piece->payload.size()));
    pieceArrived(*p, piece->payload.size());
}

QString WeightClient::pieceProblem(const Pending &p, quint32 index, qint64 payloadBytes) const
{
    if (!p.headerSeen)
        return QStringLiteral("a piece arrived before the chunk header");
    if (index != p.nextPiece)
        return QStringLiteral("piece %1 arrived, expected %2").arg(index).arg(p.nextPiece);
    if (payloadBytes > m_maxPieceBytes)
        return QStringLiteral("a piece of %1 bytes, more than the %2 announced").arg(payloadBytes).arg(m_maxPieceBytes);
    if (p.received + payloadBytes > p.header.size)
        return QStringLiteral("more bytes than the %1 announced").arg(p.header.size);
    return {};
}

// A piece of a request that is waiting for it goes straight into the request's buffer; any
// other (unknown request, out of order, too large) comes whole through onBinary(), which
// ignores or reports it.
char *WeightClient::pieceDestination(QByteArrayView pieceHeader, qint64 payloadBytes)
{
    const std::optional<Piece> piece = parsePiece(pieceHeader, 0); // the header alone: no payload
    Pending *p = piece ? m_pending.value(piece->requestId) : nullptr;
    if (!p || p->cancelled || !pieceProblem(*p, piece->index, payloadBytes).isEmpty())
        return nullptr;
    char *at = writableEnd(*p);
    m_sinkBuffer = p->data;
    return at;
}

void WeightClient::pieceDelivered(QByteArrayView pieceHeader, qint64 payloadBytes)
{
    const QByteArray buffer = std::exchange(m_sinkBuffer, {});
    const std::optional<Piece> piece = parsePiece(pieceHeader, 0);
    Pending *p = piece ? m_pending.value(piece->requestId) : nullptr;
    // Still the same request, still waiting for this piece in this buffer?
    if (!p || p->cancelled || p->data.constData() != buffer.constData() || !pieceProblem(*p, piece->index, payloadBytes).isEmpty())
        return;
    pieceArrived(*p, payloadBytes);
}

// A re-fetch of a chunk whose block tags are remembered is checked as it lands; when the chunk is
// stored as it is used, compute may read each checked block at once (client/chunkarrival.h).
void WeightClient::startBlockCheck(Pending &p)
{
    const ManifestChunk *chunk = chunkNamed(p.name);
    p.check = ReceiptVerifier::instance().startBlockCheck(chunk->sha256, p.header.size);
    if (!p.check || p.stored || chunk->codec != ChunkCodec::None || !m_options.arrivals)
        return;
    p.arrival = m_options.arrivals(p.name);
    if (p.arrival && p.arrival->size() == p.header.size)
        p.receipt = p.arrival->beginReceipt(p.data, p.startNs);
    else
        p.arrival.reset();
}

// Where the next piece's bytes go. The buffer may be shared with the chunk's arrival, whose
// readers only read below what was checked: writing through data() would detach (copy) it.
char *WeightClient::writableEnd(Pending &p)
{
    return const_cast<char *>(p.data.constData()) + p.received;
}

void WeightClient::pieceArrived(Pending &p, qint64 payloadBytes)
{
    if (p.check) { // while the piece is still in this core's cache
        const qint64 checked = p.check->add(QByteArrayView(p.data.constData() + p.received, payloadBytes));
        if (p.arrival)
            p.arrival->advance(p.receipt, checked);
    }
    p.received += payloadBytes;
    p.lastProgressMs = m_lastPieceMs = WeightClient::nowMs();
    if (++p.nextPiece == p.header.pieces)
        completePieces(p);
}

void WeightClient::completePieces(Pending &p)
{
    if (p.received != p.header.size) {
        fail(p.id, QStringLiteral("protocol"), QStringLiteral("%1: %2 bytes arrived, %3 announced")
                                                   .arg(describe(p)).arg(p.received).arg(p.header.size));
        return;
    }
    const quint32 id = p.id;
    const QString name = p.name;
    const QString origin = QStringLiteral("model '%1' from %2").arg(modelName(), m_options.url.toDisplayString());
    const QByteArray data = std::move(p.data);
    const qint64 startNs = p.startNs;
    const bool stored = p.stored;
    const Kind kind = p.kind;
    const QByteArray headerHash = p.header.sha256;
    const std::unique_ptr<ReceiptVerifier::BlockCheck> check = std::move(p.check);
    const ManifestChunk *found = chunkNamed(name);
    const ManifestChunk chunk = found ? *found : ManifestChunk();
    const ManifestFile *listedFile = m_manifest.findFile(name);
    const ManifestFile file = listedFile ? *listedFile : ManifestFile{name, -1, {}};
    finish(id);
    // The blocks checked as a re-fetch arrived: all of them matched, or SHA-256 decides.
    const StreamedCheck streamed = !check || kind != Kind::Chunk ? StreamedCheck::None
        : ReceiptVerifier::instance().finishBlockCheck(*check)   ? StreamedCheck::Matched
                                                                 : StreamedCheck::Differs;
    // Verified bytes that need no decoding are handed over from here, without waking a pool
    // thread first (on a loaded machine that wake-up is what compute waits for).
    if (streamed == StreamedCheck::Matched && (stored || chunk.codec == ChunkCodec::None) && data.size() == chunk.storedBytes) {
        Q_EMIT chunkReceived(id, name, data, data.size(), startNs, timelineClockNs(), data);
        return;
    }
    // Hashing and decoding run on the pool so the network thread keeps reading.
    (void)QtConcurrent::run(&m_decodePool, [this, id, name, origin, data, startNs, stored, kind, headerHash, streamed, chunk, file] {
        try {
            if (kind == Kind::File) {
                if (Sha256::hashHex(data) != headerHash)
                    throw ChunkIntegrityError(QStringLiteral("file '%1' of %2: SHA-256 mismatch; it was damaged on the way").arg(name, origin));
                verifyModelFile(data, file, origin);
                Q_EMIT fileReceived(id, name, data);
                return;
            }
            const QByteArray out = stored ? (verifyStoredChunk(data, chunk, origin, streamed), data)
                                          : verifyAndDecodeChunk(data, chunk, origin, streamed);
            Q_EMIT chunkReceived(id, name, out, data.size(), startNs, timelineClockNs(), data);
        } catch (const ChunkIntegrityError &e) {
            qCWarning(lcClient).noquote() << e.message();
            Q_EMIT requestFailed(id, name, QStringLiteral("hash_mismatch"), e.message());
        } catch (const Error &e) {
            qCWarning(lcClient).noquote() << e.message();
            Q_EMIT requestFailed(id, name, QStringLiteral("decode"), e.message());
        } catch (const std::bad_alloc &) {
            const QString message = QStringLiteral("%1 '%2' of %3: out of memory while decoding it")
                                        .arg(kind == Kind::File ? QStringLiteral("file") : QStringLiteral("chunk"), name, origin);
            qCWarning(lcClient).noquote() << message;
            Q_EMIT requestFailed(id, name, QStringLiteral("memory"), message);
        } catch (const std::exception &e) {
            const QString message = QStringLiteral("chunk '%1' of %2: %3").arg(name, origin, QString::fromLocal8Bit(e.what()));
            Q_EMIT requestFailed(id, name, QStringLiteral("decode"), message);
        }
    });
}

} // namespace surfing
