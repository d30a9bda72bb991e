#include "inferencecontroller.h"

#include "base/error.h"
#include "client/localchunksource.h"
#include "client/remotechunksource.h"
#include "inference/inferencesession.h"
#include "inference/sentenceembedding.h"

#include <QDir>
#include <QFile>
#include <QtConcurrent>
#include <atomic>
#include <future>

namespace surfing::ui {

namespace {

// Fetches config.json and the tokenizer files the manifest lists into `dir` (blocking; called
// on a pool thread, the client answers on its network thread).
void fetchModelFiles(RemoteChunkSource &source, const QString &dir)
{
    WeightClient *client = source.client();
    for (const QString &name : source.manifest().fileNames()) {
        struct Outcome {
            std::promise<QString> promise;
            std::atomic_bool set{false};
            void finish(const QString &error)
            {
                if (!set.exchange(true))
                    promise.set_value(error);
            }
        };
        auto outcome = std::make_shared<Outcome>();
        std::future<QString> done = outcome->promise.get_future();
        const QString path = QDir(dir).filePath(name);
        auto received = QObject::connect(client, &WeightClient::fileReceived, client,
            [outcome, name, path](quint32, const QString &file, const QByteArray &data) {
                if (file != name)
                    return;
                QFile out(path);
                const bool ok = out.open(QIODevice::WriteOnly) && out.write(data) == data.size();
                outcome->finish(ok ? QString() : QStringLiteral("cannot write %1: %2").arg(path, out.errorString()));
            }, Qt::DirectConnection);
        auto failedConn = QObject::connect(client, &WeightClient::requestFailed, client,
            [outcome, name](quint32, const QString &file, const QString &, const QString &message) {
                if (file == name)
                    outcome->finish(message);
            }, Qt::DirectConnection);
        client->fetchFile(name);
        const QString error = done.get();
        QObject::disconnect(received);
        QObject::disconnect(failedConn);
        if (!error.isEmpty())
            throw Error(error);
    }
}

} // namespace

InferenceController::InferenceController(QObject *parent)
    : QObject(parent)
{
    qRegisterMetaType<surfing::InferenceResult>();
    qRegisterMetaType<QVector<surfing::LayerEvent>>();
    m_flush.setInterval(100);
    connect(&m_flush, &QTimer::timeout, this, &InferenceController::flushEvents);
    connect(&m_opening, &QFutureWatcher<Opened>::finished, this, &InferenceController::onOpened);
}

InferenceController::~InferenceController()
{
    if (m_session)
        m_session->cancel();
    m_session.reset(); // joins the worker
    m_opening.waitForFinished();
}

QString InferenceController::keyOf(const PlaygroundRequest &r)
{
    QStringList replicas;
    for (const QUrl &url : r.replicas)
        replicas << url.toString();
    return QStringLiteral("%1|%2|%3|%4|%5|%6|%7|%8").arg(int(r.source)).arg(r.serverUrl.toString(), r.model, r.token, r.chunkDir)
        .arg(r.cacheBytes).arg(r.cacheLayers).arg(replicas.join(QLatin1Char(',')));
}

QString InferenceController::modelType() const
{
    return m_session ? m_session->modelType() : QString();
}

bool InferenceController::isDecoder() const
{
    return m_session && m_session->isDecoder();
}

void InferenceController::setRunning(bool running)
{
    if (m_running == running)
        return;
    m_running = running;
    if (running)
        m_flush.start();
    else
        m_flush.stop();
    Q_EMIT runningChanged(running);
}

void InferenceController::start(const PlaygroundRequest &request)
{
    if (m_running)
        return;
    m_request = request;
    setRunning(true);
    const QString key = keyOf(request);
    if (m_session && key == m_key) {
        runPrompt();
        return;
    }
    m_session.reset();
    m_source.reset();
    m_key = key;
    Q_EMIT progressMessage(request.source == PlaygroundRequest::Source::ChunkFolder
                               ? tr("Opening %1…").arg(request.chunkDir)
                               : tr("Connecting to %1…").arg(request.serverUrl.toString()));
    m_opening.setFuture(QtConcurrent::run(&InferenceController::open, request));
}

InferenceController::Opened InferenceController::open(const PlaygroundRequest &r)
{
    Opened o;
    try {
        if (r.source == PlaygroundRequest::Source::ChunkFolder) {
            o.source = std::make_shared<LocalChunkSource>(r.chunkDir, r.cacheBytes, r.cacheLayers);
            o.filesDir = r.chunkDir;
            return o;
        }
        RemoteChunkSourceOptions options;
        options.client.url = r.serverUrl;
        if (!r.replicas.isEmpty())
            options.servers = QList<QUrl>{r.serverUrl} + r.replicas;
        options.client.model = r.model;
        options.client.token = r.token;
        options.client.clientName = QStringLiteral("surfing-gui");
        options.cacheBytes = r.cacheBytes;
        options.cacheChunks = r.cacheLayers;
        auto remote = std::make_shared<RemoteChunkSource>(options);
        if (!r.chunkDir.isEmpty()) { // the in-process server: its files are on this disk
            o.filesDir = r.chunkDir;
            o.source = remote;
            return o;
        }
        o.tempDir = std::make_shared<QTemporaryDir>();
        if (!o.tempDir->isValid())
            throw Error(QStringLiteral("cannot create a temporary folder for the model's config and tokenizer"));
        fetchModelFiles(*remote, o.tempDir->path());
        o.filesDir = o.tempDir->path();
        o.source = remote;
    } catch (const std::exception &e) {
        o.source.reset();
        o.error = QString::fromUtf8(e.what());
    }
    return o;
}

void InferenceController::onOpened()
{
    Opened o = m_opening.result();
    if (!o.error.isEmpty()) {
        m_key.clear();
        setRunning(false);
        Q_EMIT failed(o.error);
        return;
    }
    try {
        m_session = std::make_unique<InferenceSession>(o.source, o.filesDir);
    } catch (const std::exception &e) {
        m_key.clear();
        setRunning(false);
        Q_EMIT failed(QString::fromUtf8(e.what()));
        return;
    }
    m_source = o.source;
    m_tempDir = o.tempDir;
    connect(m_session.get(), &InferenceSession::tokenGenerated, this, [this](qint64, const QString &delta) {
        Q_EMIT tokenGenerated(delta);
    });
    connect(m_session.get(), &InferenceSession::layerEventRecorded, this, &InferenceController::addLayerEvent);
    connect(m_session.get(), &InferenceSession::finished, this, &InferenceController::onSessionFinished);
    connect(m_session.get(), &InferenceSession::failed, this, &InferenceController::onSessionFailed);
    runPrompt();
}

void InferenceController::runPrompt()
{
    InferenceOptions options = m_request.options;
    m_sentences.clear();
    m_embeddings.clear();
    if (!m_session->isDecoder()) {
        for (const QString &line : m_request.prompt.split(QLatin1Char('\n'))) {
            if (!line.trimmed().isEmpty())
                m_sentences.append(line.trimmed());
        }
    }
    m_session->setOptions(options);
    Q_EMIT progressMessage(tr("Running %1…").arg(m_session->modelType()));
    m_session->start(m_sentences.size() > 1 ? m_sentences.first() : m_request.prompt);
}

bool InferenceController::continueEncoderDemo(const surfing::InferenceResult &result)
{
    if (m_sentences.size() < 2)
        return false;
    m_embeddings.append(result.embedding);
    if (m_embeddings.size() < m_sentences.size()) {
        m_session->start(m_sentences.at(m_embeddings.size()));
        return true;
    }
    Q_EMIT similaritiesComputed(m_sentences, similaritiesToFirst(m_embeddings));
    return false;
}

void InferenceController::addLayerEvent(const LayerEvent &event)
{
    m_pending.append(event);
}

void InferenceController::cancel()
{
    if (m_session && m_session->isRunning())
        m_session->cancel();
}

void InferenceController::flushEvents()
{
    if (!m_pending.isEmpty())
        Q_EMIT layerEventsRecorded(std::exchange(m_pending, {}));
    if (m_source)
        Q_EMIT clientCacheBytesChanged(m_source->cache().stats().residentBytes);
}

void InferenceController::onSessionFinished(const InferenceResult &result)
{
    try {
        if (continueEncoderDemo(result))
            return;
    } catch (const std::exception &e) {
        onSessionFailed(QString::fromUtf8(e.what()));
        return;
    }
    flushEvents();
    setRunning(false);
    Q_EMIT finished(result);
}

void InferenceController::onSessionFailed(const QString &message)
{
    flushEvents();
    setRunning(false);
    // A broken connection leaves the source unusable: open afresh next time.
    m_session.reset();
    m_source.reset();
    m_key.clear();
    Q_EMIT failed(message);
}

} // namespace surfing::ui
