// Runs the Playground's requests: opens the chunk source (a weight server through
// RemoteChunkSource, or a chunk folder) on a pool thread, then an InferenceSession whose worker
// thread does the compute. Keeps the source (and its client cache) between runs with the same
// settings, so a second prompt shows the cache at work. Layer events are batched to the GUI
// every 100 ms.
#pragma once

#include "chat/chatmodelinfo.h"
#include "chat/chattemplate.h"
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
#include <optional>

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
    // The model is open: what it is, read from its files (chat template, tokenizer, context).
    void modelOpened(const surfing::ChatModelInfo &info);
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
    // The request cannot run on this model as it stands (text for a model without a tokenizer,
    // a chat template that refuses the conversation): what is wrong and what to do in the GUI.
    void runRefused(const QString &message, const QString &action);
    // Encoders, several lines: each later line's cosine similarity to the first line, and the
    // number of tokens each line encoded to.
    void similaritiesComputed(const QStringList &sentences, const QVector<double> &toFirst, const QVector<int> &tokenCounts);

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
    void refuse(const QString &message, const QString &action);
    bool startDecoder(InferenceOptions options); // false: failed before running
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
    QVector<int> m_tokenCounts;
    std::optional<ChatTemplate> m_template;
    QString m_templateError;           // the model's template is not supported: why
    bool m_running = false;
};

} // namespace surfing::ui
