#include "servercontroller.h"

#include "base/error.h"
#include "server/weightserver.h"
#include "storage/openstorage.h"

#include <QDir>
#include <QFileInfo>
#include <QThread>

namespace surfing::ui {

ServerController::ServerController(QObject *parent)
    : QObject(parent)
    , m_thread(new QThread(this))
    , m_context(new QObject)
{
    qRegisterMetaType<surfing::ServerStats>();
    qRegisterMetaType<surfing::ui::ServerController::State>();
    m_thread->setObjectName(QStringLiteral("surfing-server"));
    m_context->moveToThread(m_thread);
    connect(m_thread, &QThread::finished, m_context, &QObject::deleteLater);
    m_thread->start();
}

ServerController::~ServerController()
{
    QMetaObject::invokeMethod(m_context, [this] {
        delete m_server;
        m_server = nullptr;
    }, Qt::BlockingQueuedConnection);
    m_thread->quit();
    m_thread->wait();
}

void ServerController::setState(State state)
{
    if (m_state == state)
        return;
    m_state = state;
    Q_EMIT stateChanged(state);
}

void ServerController::start(const WeightServerOptions &options, const QStringList &chunkDirs)
{
    if (m_state != State::Stopped)
        return;
    m_dirs = chunkDirs;
    setState(State::Starting);
    QMetaObject::invokeMethod(m_context, [this, options, chunkDirs] { startOnServerThread(options, chunkDirs); },
                              Qt::QueuedConnection);
}

// Runs on the server thread. Signals of the server are connected to ours: they cross to the
// GUI thread queued because this controller lives there.
void ServerController::startOnServerThread(const WeightServerOptions &options, const QStringList &chunkDirs)
{
    auto server = std::make_unique<WeightServer>(options);
    try {
        for (const QString &dir : chunkDirs)
            server->addModel(std::shared_ptr<ChunkStorage>(openStorage(dir).release()));
        server->listen();
    } catch (const Error &e) {
        const QString message = e.message();
        QMetaObject::invokeMethod(this, [this, message] { onFailed(message); }, Qt::QueuedConnection);
        return;
    }
    m_server = server.release();
    connect(m_server, &WeightServer::clientConnected, this, &ServerController::clientConnected);
    connect(m_server, &WeightServer::clientDisconnected, this, &ServerController::clientDisconnected);
    connect(m_server, &WeightServer::requestServed, this, &ServerController::requestServed);
    connect(m_server, &WeightServer::requestFailed, this, &ServerController::requestFailed);
    WeightServer *s = m_server;
    connect(m_server, &WeightServer::statsChanged, m_context, [this, s] { Q_EMIT statsUpdated(s->stats()); });
    const QUrl url = m_server->url();
    const QStringList models = m_server->modelNames();
    const ServerStats stats = m_server->stats();
    QMetaObject::invokeMethod(this, [this, url, models, stats] {
        onStarted(url, models);
        Q_EMIT statsUpdated(stats);
    }, Qt::QueuedConnection);
}

bool ServerController::serves(const QString &dir) const
{
    const QString wanted = QDir::cleanPath(QFileInfo(dir).absoluteFilePath());
    for (const QString &d : chunkDirs())
        if (QDir::cleanPath(QFileInfo(d).absoluteFilePath()) == wanted)
            return true;
    return false;
}

void ServerController::onStarted(const QUrl &url, const QStringList &models)
{
    m_url = url;
    m_models = models;
    setState(State::Running);
    Q_EMIT started(url, models);
}

void ServerController::onFailed(const QString &message)
{
    setState(State::Stopped);
    Q_EMIT failed(message);
}

void ServerController::stop()
{
    if (m_state != State::Running)
        return;
    setState(State::Stopping);
    QMetaObject::invokeMethod(m_context, [this] {
        delete m_server; // closes the listening socket and every session
        m_server = nullptr;
        QMetaObject::invokeMethod(this, [this] {
            m_url.clear();
            m_models.clear();
            setState(State::Stopped);
            Q_EMIT stopped();
        }, Qt::QueuedConnection);
    }, Qt::QueuedConnection);
}

} // namespace surfing::ui
