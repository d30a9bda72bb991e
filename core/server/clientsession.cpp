#include "server/clientsession.h"

#include "base/error.h"
#include "base/sha256.h"
#include "format/chunkcodec.h"
#include "protocol/piece.h"
#include "server/chunksender.h"
#include "server/clientframereader.h"
#include "server/weightserver.h"

#include <QLoggingCategory>
#include <QTcpSocket>
#include <QWebSocket>
#include <limits>

Q_LOGGING_CATEGORY(lcSession, "surfing.server.session")

namespace surfing {

using namespace protocol;

namespace {

// The frame reader drops messages beyond this with close code 1009 before we see them;
// between kMaxClientTextBytes and this we can still answer with a JSON error first.
constexpr qint64 kSocketMessageLimit = 1024 * 1024;
// A close whose frame the client does not take ends the connection after this.
constexpr int kCloseGraceMs = 5000;

// What a client sees of an internal error: its context ("cannot read chunk 'layer_3'"), never
// the storage's message, which names server paths or buckets; that goes to the log.
QString publicInternalMessage(const QString &message)
{
    return message.section(QStringLiteral(": "), 0, 0) + QStringLiteral(" (storage error; the server's log has the details)");
}

bool sameToken(const QString &given, const QString &expected)
{
    // Constant time in the token's length, so timing does not reveal a matching prefix.
    const QByteArray a = given.toUtf8(), b = expected.toUtf8();
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (qsizetype i = 0; i < b.size(); ++i)
        diff |= static_cast<unsigned char>(b[i] ^ (i < a.size() ? a[i] : 0));
    return diff == 0;
}

QString modelFromPath(const QUrl &url)
{
    QString path = url.path(QUrl::FullyDecoded);
    while (path.startsWith(QLatin1Char('/')))
        path.remove(0, 1);
    return path;
}

} // namespace

ClientSession::ClientSession(QWebSocket *socket, QTcpSocket *wire, WeightServer *server, qint64 helloDeadlineMs)
    : QObject(server), m_socket(socket), m_wire(wire), m_server(server),
      m_requestBucket(server->options().rateLimitRps, qMax(1.0, server->options().rateLimitRps)),
      m_byteBucket(server->options().rateLimitMbps * 125000.0, server->options().rateLimitMbps * 125000.0)
{
    m_socket->setParent(this);
    m_peer = QStringLiteral("%1:%2").arg(m_socket->peerAddress().toString()).arg(m_socket->peerPort());
    m_pathModel = modelFromPath(m_socket->requestUrl());
    m_sender = new ChunkSender(m_socket, wire, server->options().maxPieceBytes, server->bandwidth(), this);
    connect(m_sender, &ChunkSender::piecesSent, this, [this](qint64 bytes) {
        m_server->metrics().recordBytesSent(bytes);
        onWriteProgress();
    });
    connect(m_sender, &ChunkSender::transferFinished, this, &ClientSession::onTransferFinished);
    connect(m_socket, &QWebSocket::disconnected, this, [this] { Q_EMIT closed(this); });
    m_idleTimer.setSingleShot(true);
    connect(&m_idleTimer, &QTimer::timeout, this, &ClientSession::onIdleTimeout);
    restartIdleTimer();
    m_lastWrite.start();
    qCDebug(lcSession) << m_peer << "connected, path" << m_socket->requestUrl().path();
    if (!wire) { // cannot happen: WeightServer hands every session its socket
        qCWarning(lcSession) << m_peer << "has no socket to read from; closing it";
        QMetaObject::invokeMethod(this, [this] { closeWith(QWebSocketProtocol::CloseCodeAbnormalDisconnection, QStringLiteral("server error")); },
                                  Qt::QueuedConnection);
        return;
    }
    m_reader = new ClientFrameReader(wire, kSocketMessageLimit, this);
    connect(m_reader, &ClientFrameReader::textMessageReceived, this, &ClientSession::onText);
    connect(m_reader, &ClientFrameReader::binaryMessageReceived, this, &ClientSession::onBinary);
    connect(m_reader, &ClientFrameReader::pingReceived, this, &ClientSession::onPing);
    connect(m_reader, &ClientFrameReader::closeReceived, this, [this] { closeWith(QWebSocketProtocol::CloseCodeNormal, {}); });
    connect(m_reader, &ClientFrameReader::protocolViolated, this, [this](int code, const QString &why) {
        qCInfo(lcSession) << m_peer << "broke the protocol:" << why;
        closeWith(code, why.left(100));
    });
    connect(wire, &QIODevice::bytesWritten, this, &ClientSession::onWriteProgress);
    if (helloDeadlineMs >= 0) {
        m_helloTimer.setSingleShot(true);
        connect(&m_helloTimer, &QTimer::timeout, this, [this] {
            if (!m_welcomed)
                closeWith(QWebSocketProtocol::CloseCodePolicyViolated,
                          QStringLiteral("no hello within %1 s of connecting").arg(m_server->options().handshakeTimeoutSeconds));
        });
        m_helloTimer.start(int(qMin<qint64>(helloDeadlineMs, std::numeric_limits<int>::max())));
    }
}

ClientSession::~ClientSession()
{
    m_sender->clear();
}

void ClientSession::sendText(const QByteArray &json)
{
    if (!m_closing)
        m_socket->sendTextMessage(QString::fromUtf8(json));
}

void ClientSession::sendError(ErrorCode code, const QString &message, quint32 id, qint64 retryAfterMs)
{
    ErrorReply e;
    e.id = id;
    e.code = code;
    e.message = code == ErrorCode::Internal ? publicInternalMessage(message) : message;
    e.retryAfterMs = retryAfterMs;
    if (code == ErrorCode::BadRequest && message.contains(QLatin1String("protocol version")))
        e.protocols = {kProtocolVersion};
    sendText(encodeError(e));
    m_server->noteError(code, message);
    if (code == ErrorCode::Internal)
        qCWarning(lcSession) << m_peer << errorCodeName(code) << message;
    else
        qCDebug(lcSession) << m_peer << errorCodeName(code) << message;
}

void ClientSession::closeWith(int closeCode, const QString &reason)
{
    if (m_closing)
        return;
    m_closing = true;
    if (m_reader)
        m_reader->stop();
    m_sender->clear();
    m_gets.clear();
    m_held.clear();
    m_socket->close(QWebSocketProtocol::CloseCode(closeCode), reason);
    // A client that takes nothing more would keep it half-closed for ever.
    QTimer::singleShot(kCloseGraceMs, this, [this] { m_socket->abort(); });
}

void ClientSession::onBinary()
{
    sendError(ErrorCode::BadRequest, QStringLiteral("clients send text (JSON) messages only; binary message ignored"));
}

void ClientSession::onPing(const QByteArray &payload)
{
    if (m_closing || !m_wire)
        return;
    if (!hasUnsentOutput())
        restartIdleTimer();
    m_wire->write(encodeFrameHeader(FrameType::Pong, quint64(payload.size())) + payload);
}

void ClientSession::onText(const QByteArray &utf8)
{
    if (m_closing)
        return;
    // With replies unsent, a request is no sign of life: see onIdleTimeout().
    if (!hasUnsentOutput())
        restartIdleTimer();
    if (utf8.size() > kMaxClientTextBytes) {
        sendError(ErrorCode::BadRequest, QStringLiteral("message of %1 bytes is larger than the limit of %2 bytes")
                                             .arg(utf8.size()).arg(kMaxClientTextBytes));
        closeWith(QWebSocketProtocol::CloseCodeTooMuchData, QStringLiteral("message too large"));
        return;
    }
    ClientMessage message;
    try {
        message = parseClientMessage(utf8);
    } catch (const ProtocolError &e) {
        sendError(e.code(), e.message(), e.requestId());
        if (!m_welcomed)
            closeWith(QWebSocketProtocol::CloseCodeProtocolError, QStringLiteral("handshake failed"));
        return;
    }
    if (message.type == ClientMessageType::Hello) {
        handleHello(message.hello);
    } else if (!m_welcomed) {
        sendError(ErrorCode::BadRequest, QStringLiteral("the first message must be 'hello'"), message.request.id);
        closeWith(QWebSocketProtocol::CloseCodeProtocolError, QStringLiteral("handshake failed"));
    } else {
        takeRequest(message.request);
    }
}

void ClientSession::handleHello(const Hello &hello)
{
    if (m_welcomed) {
        sendError(ErrorCode::BadRequest, QStringLiteral("'hello' was already sent on this connection"));
        return;
    }
    if (hello.protocol != kProtocolVersion) {
        sendError(ErrorCode::BadRequest, QStringLiteral("protocol version %1 is not spoken here; this server speaks %2")
                                             .arg(hello.protocol).arg(kProtocolVersion));
        closeWith(QWebSocketProtocol::CloseCodeProtocolError, QStringLiteral("unsupported protocol version"));
        return;
    }
    if (!m_server->storageHealthy()) {
        // Refused at once, so that a client (or the balancer's next attempt) goes elsewhere
        // instead of waiting on gets that cannot be served.
        sendError(ErrorCode::Internal, QStringLiteral("this server cannot read its storage (%1); try another server or again later")
                                           .arg(m_server->storageProblem()), 0, m_server->storageCheckIntervalMs());
        closeWith(kCloseTryAgainLater, QStringLiteral("storage unavailable"));
        return;
    }
    if (!checkToken(hello))
        return;
    const QString wanted = !hello.model.isEmpty() ? hello.model : m_pathModel;
    m_model = wanted.isEmpty() ? m_server->defaultModel() : wanted;
    if (!wanted.isEmpty() && !m_server->model(wanted)) {
        sendError(ErrorCode::NotFound, QStringLiteral("no model '%1' here; models: %2")
                                           .arg(wanted.left(kMaxModelNameLength), m_server->modelNames().join(QLatin1String(", "))));
        closeWith(QWebSocketProtocol::CloseCodeNormal, QStringLiteral("unknown model"));
        return;
    }
    m_welcomed = true;
    Welcome w;
    w.server = QStringLiteral("surfing %1").arg(QLatin1String(SURFING_VERSION));
    w.models = m_server->modelNames();
    w.defaultModel = m_model;
    w.maxPieceBytes = m_server->options().maxPieceBytes;
    w.maxInFlight = m_server->options().maxInFlight;
    sendText(encodeWelcome(w));
    qCDebug(lcSession) << m_peer << "welcomed, client" << hello.client << "model" << m_model;
}

// Throttled per address (AuthThrottle): after repeated failures, hellos are refused unchecked.
bool ClientSession::checkToken(const Hello &hello)
{
    const QString &token = m_server->options().token;
    if (token.isEmpty())
        return true;
    const QHostAddress peer = m_socket->peerAddress();
    if (const qint64 wait = m_server->authWaitMs(peer); wait > 0) {
        sendError(ErrorCode::RateLimited, QStringLiteral("too many failed authentications from this address; "
                                                         "try again in %1 s").arg((wait + 999) / 1000), 0, wait);
        closeWith(QWebSocketProtocol::CloseCodePolicyViolated, QStringLiteral("rate limited"));
        return false;
    }
    if (sameToken(hello.token, token)) {
        m_server->noteAuthSuccess(peer);
        return true;
    }
    m_server->noteAuthFailure(peer);
    sendError(ErrorCode::Unauthorized, hello.token.isEmpty() ? QStringLiteral("this server needs a token (hello.token)")
                                                             : QStringLiteral("wrong token"));
    closeWith(QWebSocketProtocol::CloseCodePolicyViolated, QStringLiteral("unauthorized"));
    return false;
}

bool ClientSession::admitRequest(const Request &request)
{
    const qint64 wait = m_requestBucket.take(1, TokenBucket::steadyNowMs());
    if (wait > 0) {
        sendError(ErrorCode::RateLimited, QStringLiteral("more than %1 requests per second").arg(m_server->options().rateLimitRps),
                  request.id, wait);
        return false;
    }
    return true;
}

const ServedModel *ClientSession::resolveModel(const Request &request)
{
    const QString name = request.model.isEmpty() ? m_model : request.model;
    if (name.isEmpty()) {
        sendError(ErrorCode::BadRequest, QStringLiteral("no model named and the server has no default; models: %1")
                                             .arg(m_server->modelNames().join(QLatin1String(", "))), request.id);
        return nullptr;
    }
    const ServedModel *model = m_server->model(name);
    if (!model)
        sendError(ErrorCode::NotFound, QStringLiteral("no model '%1' here; models: %2")
                                           .arg(name, m_server->modelNames().join(QLatin1String(", "))), request.id);
    return model;
}

void ClientSession::handleRequest(const Request &request)
{
    m_server->metrics().recordRequest(clientMessageTypeName(request.type));
    m_server->noteActivity();
    if (request.type == ClientMessageType::Cancel)
        return handleCancel(request);
    if (!admitRequest(request))
        return;
    switch (request.type) {
    case ClientMessageType::Ping:
        return sendText(encodePong(request.id));
    case ClientMessageType::Stats:
        return sendText(encodeStatsReply(request.id, m_server->stats().toJson()));
    case ClientMessageType::Manifest:
        if (const ServedModel *model = resolveModel(request))
            sendText(encodeManifestReply(request.id, model->name, model->manifestJson));
        return;
    case ClientMessageType::Get:
        if (const ServedModel *model = resolveModel(request))
            handleGet(request, *model);
        return;
    default:
        return;
    }
}

void ClientSession::handleGet(const Request &request, const ServedModel &model)
{
    if (m_gets.contains(request.id))
        return sendError(ErrorCode::BadRequest, QStringLiteral("request id %1 is already in flight").arg(request.id), request.id);
    if (m_gets.size() >= m_server->options().maxInFlight)
        return sendError(ErrorCode::BadRequest, QStringLiteral("more than %1 requests in flight on this connection")
                                                    .arg(m_server->options().maxInFlight), request.id);
    const std::optional<ManifestChunk> found = findTarget(request, model);
    if (!found) {
        const QString what = !request.file.isEmpty() ? QStringLiteral("file '%1'").arg(request.file)
                             : request.chunk.isEmpty() ? QStringLiteral("chunk of kind '%1' index %2").arg(request.kind).arg(request.index)
                                                       : QStringLiteral("chunk '%1'").arg(request.chunk);
        return sendError(ErrorCode::NotFound, QStringLiteral("model '%1' has no %2").arg(model.name, what), request.id);
    }
    const ManifestChunk *chunk = &*found;
    const qint64 wait = m_byteBucket.take(double(qMax<qint64>(0, chunk->storedBytes)), TokenBucket::steadyNowMs());
    if (wait > 0)
        return sendError(ErrorCode::RateLimited, QStringLiteral("more than %1 Mbit/s of chunks").arg(m_server->options().rateLimitMbps),
                         request.id, wait);

    PendingGet &get = m_gets[request.id];
    get.reservation = m_server->sendBudget().reserve(qMax<qint64>(0, chunk->storedBytes));
    get.model = model.name;
    get.chunk = chunk->name;
    get.started.start();
    std::shared_ptr<ChunkStorage> storage = model.storage;
    const QString file = chunk->file;
    const quint32 id = request.id;
    const ManifestChunk chunkCopy = *chunk;
    const std::optional<QByteArray> hit = m_server->cache().fetch(
        model.name + QLatin1Char('/') + file,
        [storage, file](ReadCallback done) { storage->read(file, {}, std::move(done)); },
        ReadCallback(this, [this, id, chunkCopy, name = model.name](const ReadResult &result) {
            if (result.ok())
                m_server->noteStorageAnswered(name);
            onChunkRead(id, chunkCopy, result);
        }));
    get.cacheHit = hit.has_value();
    if (hit) // sent now rather than one event-loop turn later (a scheduling slice on a busy machine)
        onChunkRead(id, chunkCopy, ReadResult{*hit, {}});
}

void ClientSession::onChunkRead(quint32 id, const ManifestChunk &chunk, const ReadResult &result)
{
    try {
        if (!result.ok())
            throw Error(result.error);
        onChunkLoaded(id, chunk, result.bytes);
    } catch (const std::exception &e) {
        if (!m_gets.remove(id))
            return;
        const QString why = QString::fromUtf8(e.what());
        qCWarning(lcSession) << "storage failed for" << chunk.name << why;
        m_server->noteStorageFailure();
        sendError(ErrorCode::Internal, QStringLiteral("cannot read chunk '%1': %2").arg(chunk.name, why), id);
    }
}

// A chunk named in the manifest, or a companion file it lists (config.json, tokenizer files)
// described as an uncompressed chunk whose size and hash are known once it is read.
std::optional<ManifestChunk> ClientSession::findTarget(const Request &request, const ServedModel &model)
{
    if (!request.file.isEmpty()) {
        if (!model.manifest.findFile(request.file))
            return std::nullopt;
        ManifestChunk file;
        file.name = file.file = request.file;
        file.storedBytes = file.rawBytes = kSizeFromStorage;
        return file;
    }
    const ManifestChunk *chunk = request.chunk.isEmpty() ? model.manifest.find(request.kind, request.index)
                                                         : model.manifest.find(request.chunk);
    return chunk ? std::optional<ManifestChunk>(*chunk) : std::nullopt;
}

void ClientSession::onChunkLoaded(quint32 id, ManifestChunk chunk, const QByteArray &bytes)
{
    auto get = m_gets.find(id);
    if (get == m_gets.end() || m_closing)
        return; // cancelled while loading
    if (chunk.storedBytes == kSizeFromStorage) {
        chunk.storedBytes = chunk.rawBytes = bytes.size();
        chunk.sha256 = Sha256::hashHex(bytes);
        if (get->reservation)
            get->reservation->resize(bytes.size());
    }
    if (bytes.size() != chunk.storedBytes)
        throw Error(QStringLiteral("storage holds %1 bytes, the manifest says %2").arg(bytes.size()).arg(chunk.storedBytes));
    get->sending = true;
    ChunkHeader header;
    header.id = id;
    header.model = get->model;
    header.chunk = chunk.name;
    header.size = chunk.storedBytes;
    header.rawSize = chunk.rawBytes;
    header.codec = codecName(chunk.codec);
    header.sha256 = chunk.sha256;
    header.pieces = pieceCount(bytes.size(), m_server->options().maxPieceBytes);
    m_sender->start(header, bytes);
}

void ClientSession::onTransferFinished(quint32 id)
{
    const PendingGet get = m_gets.take(id);
    const ServedModel *model = m_server->model(get.model);
    const ManifestChunk *chunk = model ? model->manifest.find(get.chunk) : nullptr;
    m_server->noteServed(get.model, get.chunk, chunk ? chunk->storedBytes : 0, get.started.nsecsElapsed() / 1e9, get.cacheHit);
    if (!m_held.empty())
        takeHeldRequests();
}

void ClientSession::handleCancel(const Request &request)
{
    // Cancelling an id that just finished (or never existed) is answered the same way: the
    // client may race with the last piece.
    m_sender->cancel(request.id);
    m_gets.remove(request.id);
    sendText(encodeCancelled(request.id));
}

} // namespace surfing
