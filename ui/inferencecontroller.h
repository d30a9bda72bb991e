// Runs the Playground's requests: opens the chunk source (a weight server through
// RemoteChunkSource, or a chunk folder) on a pool thread, then an InferenceSession whose worker
// thread does the compute. Keeps the source (and its client cache) between runs with the same
// settings, so a second prompt shows the cache at work. Layer events are batched to the GUI
// every 100 ms.
#pragma once

#include "client/weightclient.h"
#include "format/chunkmanifest.h"
#include "inference/inferenceoptions.h"
#include "metrics/layerevent.h"
#include "playgroundrequest.h"

#include <QFutureWatcher>
#include <QHash>
#include <QObject>
#include <QTemporaryDir>
#include <QTimer>
#include <QVector>
#include <atomic>
#include <functional>
#include <memory>

namespace surfing {
class ChunkSource;
class FetchingChunkSource;
class InferenceSession;
}

namespace surfing::ui {

class InferenceController : public QObject
{
    Q_OBJECT
public:
    explicit InferenceController(QObject *parent = nullptr);
    ~InferenceController() override;

    void start(const PlaygroundRequest &request);
    // Stops the run; while still connecting, gives up on the connection at once.
    void cancel();
    // Forgets the open source and session (the server they talk to went away or changed).
    void reset();
    bool isRunning() const { return m_running; }
    QString modelType() const;
    bool isDecoder() const;

Q_SIGNALS:
    void runningChanged(bool running);
    void progressMessage(const QString &message);
    void tokenGenerated(const QString &textDelta);
    void layerEventsRecorded(const QVector<surfing::LayerEvent> &events);
    void clientCacheBytesChanged(qint64 bytes);
    void finished(const surfing::InferenceResult &result);
    void failed(const QString &message);
    void cancelled(const QString &message); // a connection attempt given up by the user
    // While connecting to a server: the attempt under way (1, 2, ...).
    void connectAttempted(const QUrl &url, int attempt);
    // The model's manifest, once it is open (a server's is known only then).
    void manifestKnown(const QString &key, const surfing::ChunkManifest &manifest);
    // Encoders, several lines: each later line's cosine similarity to the first line.
    void similaritiesComputed(const QStringList &sentences, const QVector<double> &toFirst);

private:
    struct Opened {
        std::shared_ptr<FetchingChunkSource> source;
        QString filesDir;
        std::shared_ptr<QTemporaryDir> tempDir;
        QString error;
    };
    static QString keyOf(const PlaygroundRequest &request);
    static Opened open(const PlaygroundRequest &request, std::function<void(ConnectionState)> onState);
    void onOpened();
    void runPrompt();
    void flushEvents();
    void addLayerEvent(const LayerEvent &event);
    void setRunning(bool running);
    void onSessionFinished(const surfing::InferenceResult &result);
    void onSessionFailed(const QString &message);
    bool continueEncoderDemo(const surfing::InferenceResult &result); // true while more sentences are queued

    PlaygroundRequest m_request;
    QString m_key;
    std::shared_ptr<FetchingChunkSource> m_source;
    std::shared_ptr<QTemporaryDir> m_tempDir;
    std::unique_ptr<InferenceSession> m_session;
    QFutureWatcher<Opened> m_opening;
    QList<QFuture<Opened>> m_abandoned; // given-up connections, waited for on destruction
    std::shared_ptr<std::atomic_int> m_attempts;
    QVector<LayerEvent> m_pending;
    QTimer m_flush;
    QStringList m_sentences;           // encoder demo: every line of the prompt
    QVector<QVector<double>> m_embeddings;
    bool m_running = false;
};

} // namespace surfing::ui
