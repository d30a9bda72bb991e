// Runs a WeightServer in this process on its own thread, so serving never competes with the
// window for the event loop. Everything it reports arrives as queued signals on the GUI thread.
#pragma once

#include "metrics/servermetrics.h"
#include "server/weightserveroptions.h"

#include <QObject>
#include <QStringList>
#include <QUrl>

class QThread;

namespace surfing {
class WeightServer;
}

namespace surfing::ui {

class ServerController : public QObject
{
    Q_OBJECT
public:
    enum class State { Stopped, Starting, Running, Stopping };
    Q_ENUM(State)

    explicit ServerController(QObject *parent = nullptr);
    ~ServerController() override; // stops the server and joins its thread

    // Serves `chunkDirs` (local folders or s3:// locations); started() or failed() follows.
    void start(const WeightServerOptions &options, const QStringList &chunkDirs);
    void stop(); // stopped() follows
    State state() const { return m_state; }
    bool isRunning() const { return m_state == State::Running; }
    QUrl url() const { return m_url; }
    QStringList modelNames() const { return m_models; }
    // The folders of the server that runs or starts (empty when stopped).
    QStringList chunkDirs() const { return m_state == State::Stopped ? QStringList() : m_dirs; }
    bool serves(const QString &dir) const;

Q_SIGNALS:
    void started(const QUrl &url, const QStringList &models);
    void failed(const QString &message);
    void stopped();
    void stateChanged(surfing::ui::ServerController::State state);
    void clientConnected(const QString &peer);
    void clientDisconnected(const QString &peer);
    void requestServed(const QString &model, const QString &chunk, qint64 bytes, double seconds, bool cacheHit);
    void requestFailed(const QString &code, const QString &message);
    void statsUpdated(const surfing::ServerStats &stats);

private:
    void setState(State state);
    void startOnServerThread(const WeightServerOptions &options, const QStringList &chunkDirs);
    void onStarted(const QUrl &url, const QStringList &models);
    void onFailed(const QString &message);

    QThread *m_thread;
    QObject *m_context; // lives on m_thread
    WeightServer *m_server = nullptr; // owned and used on m_thread only
    State m_state = State::Stopped;
    QUrl m_url;
    QStringList m_models;
    QStringList m_dirs;
};

} // namespace surfing::ui

Q_DECLARE_METATYPE(surfing::ServerStats)
