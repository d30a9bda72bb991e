#include "inferencecontroller.h"

#include "base/error.h"
#include "client/modelopener.h"
#include "inference/inferencesession.h"
#include "inference/sentenceembedding.h"

#include <QDir>
#include <QFile>
#include <QRegularExpression>
#include <QtConcurrent>

namespace surfing::ui {

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
    for (QFuture<Opened> &f : m_abandoned)
        f.waitForFinished();
    // Sources (and their network threads, which call back into this object) go before it does.
    m_abandoned.clear();
    m_opening.setFuture(QFuture<Opened>());
    m_source.reset();
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
    // Attempts are counted on the network thread and shown on this one.
    auto attempts = std::make_shared<std::atomic_int>(0);
    m_attempts = attempts;
    const QUrl url = request.serverUrl;
    auto onState = [this, attempts, url](ConnectionState state) {
        if (state != ConnectionState::Connecting && state != ConnectionState::Reconnecting)
            return;
        const int attempt = ++*attempts;
        QMetaObject::invokeMethod(this, [this, attempts, url, attempt] {
            if (m_attempts == attempts && m_running)
                Q_EMIT connectAttempted(url, attempt);
        }, Qt::QueuedConnection);
    };
    m_opening.setFuture(QtConcurrent::run(&InferenceController::open, request, onState));
}

InferenceController::Opened InferenceController::open(const PlaygroundRequest &r, std::function<void(ConnectionState)> onState)
{
    Opened o;
    try {
        ModelOpenOptions options;
        options.chunkDir = r.chunkDir;
        if (r.source != PlaygroundRequest::Source::ChunkFolder) {
            options.serverUrl = r.serverUrl;
            options.model = r.model;
            options.token = r.token;
        }
        options.replicas = r.replicas;
        options.clientName = QStringLiteral("surfing-gui");
        options.cacheBytes = r.cacheBytes;
        options.cacheChunks = r.cacheLayers;
        options.connectionStateChanged = std::move(onState);
        const OpenedModel opened = openModel(options);
        o.source = opened.source;
        o.filesDir = opened.filesDir;
        o.tempDir = opened.staging;
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
    m_attempts.reset();
    Q_EMIT manifestKnown(m_key, m_source->manifest());
    m_template.reset();
    m_templateError.clear();
    try {
        const ChatModelInfo info = ChatModelInfo::load(o.filesDir);
        m_templateError = info.templateError;
        if (info.hasChatTemplate)
            m_template = ChatTemplate::load(o.filesDir);
        Q_EMIT modelOpened(info);
    } catch (const std::exception &e) {
        m_templateError = QString::fromUtf8(e.what());
    }
    connect(m_session.get(), &InferenceSession::tokenGenerated, this, [this](qint64 id, const QString &delta) {
        // Without a tokenizer the ids are the text there is.
        Q_EMIT tokenGenerated(m_session->hasTokenizer() ? delta : QString::number(id) + QLatin1Char(' '));
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
    m_tokenCounts.clear();
    if (m_session->isDecoder()) {
        startDecoder(options);
        return;
    }
    for (const QString &line : m_request.prompt.split(QLatin1Char('\n'))) {
        if (!line.trimmed().isEmpty())
            m_sentences.append(line.trimmed());
    }
    m_session->setOptions(options);
    Q_EMIT progressMessage(tr("Running %1…").arg(m_session->modelType()));
    m_session->start(m_sentences.size() > 1 ? m_sentences.first() : m_request.prompt);
}

// Text through the chat template (unless raw), or token ids for a model without a tokenizer.
bool InferenceController::startDecoder(InferenceOptions options)
{
    if (!m_session->hasTokenizer()) {
        QVector<qint64> ids;
        for (const QString &part : m_request.prompt.split(QRegularExpression(QStringLiteral("[\\s,]+")), Qt::SkipEmptyParts)) {
            bool ok = false;
            ids.append(part.toLongLong(&ok));
            if (!ok || ids.last() < 0) {
                refuse(tr("This model has no tokenizer, so the Playground cannot turn text into tokens: '%1' is not a token id.").arg(part),
                       tr("Type token ids in the prompt box instead: numbers separated by spaces, e.g. 0 37 5."));
                return false;
            }
        }
        m_session->setOptions(options);
        Q_EMIT progressMessage(tr("Running %1 on %2 token ids…").arg(m_session->modelType()).arg(ids.size()));
        m_session->startIds(ids);
        return true;
    }
    QString prompt = m_request.prompt;
    if (!m_request.rawCompletion && !m_templateError.isEmpty()) {
        refuse(tr("The model's chat template cannot be used: %1").arg(m_templateError),
               tr("Tick \u201cRaw completion\u201d above the conversation to send the prompt as typed."));
        return false;
    }
    if (!m_request.rawCompletion && m_template) {
        try {
            prompt = m_template->render(m_request.messages);
        } catch (const std::exception &e) {
            refuse(QString::fromUtf8(e.what()),
                   tr("Change the conversation (Clear starts a new one; some templates want user and assistant turns "
                      "to alternate), or tick \u201cRaw completion\u201d."));
            return false;
        }
        options.addSpecialTokens = false; // the template wrote BOS where the model wants it
    }
    m_session->setOptions(options);
    Q_EMIT progressMessage(tr("Running %1…").arg(m_session->modelType()));
    m_session->start(prompt);
    return true;
}

void InferenceController::refuse(const QString &message, const QString &action)
{
    setRunning(false);
    Q_EMIT runRefused(message, action);
}

bool InferenceController::continueEncoderDemo(const surfing::InferenceResult &result)
{
    if (m_sentences.size() < 2)
        return false;
    m_embeddings.append(result.embedding);
    m_tokenCounts.append(result.stats.promptTokens);
    if (m_embeddings.size() < m_sentences.size()) {
        m_session->start(m_sentences.at(m_embeddings.size()));
        return true;
    }
    Q_EMIT similaritiesComputed(m_sentences, similaritiesToFirst(m_embeddings), m_tokenCounts);
    return false;
}

void InferenceController::addLayerEvent(const LayerEvent &event)
{
    m_pending.append(event);
}

void InferenceController::cancel()
{
    if (m_opening.isRunning()) {
        // The connection may take its full timeout to give up: leave it behind, unwatched.
        m_abandoned.append(m_opening.future());
        m_opening.setFuture(QFuture<Opened>());
        m_attempts.reset();
        m_key.clear();
        setRunning(false);
        Q_EMIT cancelled(tr("Stopped connecting to %1.").arg(m_request.serverUrl.toString()));
        return;
    }
    if (m_session && m_session->isRunning())
        m_session->cancel();
}

void InferenceController::reset()
{
    if (m_running)
        return;
    m_session.reset();
    m_source.reset();
    m_tempDir.reset();
    m_key.clear();
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
