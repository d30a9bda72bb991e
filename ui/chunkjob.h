// Runs a Chunker on a pool thread and reports back on the thread that owns the job (queued), so
// the window keeps painting while a model is cut into chunks.
#pragma once

#include "chunking/chunker.h"

#include <QElapsedTimer>
#include <QFutureWatcher>
#include <QObject>
#include <memory>

namespace surfing::ui {

class ChunkJob : public QObject
{
    Q_OBJECT
public:
    explicit ChunkJob(QObject *parent = nullptr);
    ~ChunkJob() override; // cancels a running job and waits for it

    // Starts at once; progressed/finished/failed follow. Ignored while a job is running.
    void start(const QString &modelDir, const QString &outputDir, const ChunkOptions &options);
    void cancel();
    bool isRunning() const { return m_running; }
    double elapsedSeconds() const { return m_clock.isValid() ? m_clock.nsecsElapsed() / 1e9 : 0.0; }

Q_SIGNALS:
    void progressed(const surfing::ChunkProgress &progress);
    void finished(const surfing::ChunkManifest &manifest, const QString &outputDir);
    void failed(const QString &message);
    void cancelled();

private:
    struct Outcome {
        ChunkManifest manifest;
        QString error;
    };
    void onDone();

    std::shared_ptr<Chunker> m_chunker;
    QFutureWatcher<Outcome> m_watcher;
    QString m_outputDir;
    QElapsedTimer m_clock;
    bool m_running = false;
    bool m_cancelRequested = false;
};

} // namespace surfing::ui

Q_DECLARE_METATYPE(surfing::ChunkProgress)
