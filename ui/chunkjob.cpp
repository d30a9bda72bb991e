#include "chunkjob.h"

#include "base/error.h"

#include <QPointer>
#include <QtConcurrent>

namespace surfing::ui {

ChunkJob::ChunkJob(QObject *parent)
    : QObject(parent)
{
    qRegisterMetaType<surfing::ChunkProgress>();
    qRegisterMetaType<surfing::ChunkManifest>();
    connect(&m_watcher, &QFutureWatcher<Outcome>::finished, this, &ChunkJob::onDone);
}

ChunkJob::~ChunkJob()
{
    if (m_running) {
        m_chunker->cancel();
        m_watcher.waitForFinished();
    }
}

void ChunkJob::start(const QString &modelDir, const QString &outputDir, const ChunkOptions &options)
{
    if (m_running)
        return;
    m_running = true;
    m_cancelRequested = false;
    m_outputDir = outputDir;
    m_chunker = std::make_shared<Chunker>(options);
    QPointer<ChunkJob> self(this);
    m_chunker->setProgressCallback([self](const ChunkProgress &progress) {
        // Called on a worker thread: hop to the job's thread; dropped if the job is gone.
        if (self)
            QMetaObject::invokeMethod(self.data(), [self, progress] {
                if (self && self->m_running)
                    Q_EMIT self->progressed(progress);
            }, Qt::QueuedConnection);
    });
    m_clock.start();
    std::shared_ptr<Chunker> chunker = m_chunker;
    m_watcher.setFuture(QtConcurrent::run([chunker, modelDir, outputDir]() -> Outcome {
        try {
            return {chunker->run(modelDir, outputDir), {}};
        } catch (const Error &e) {
            return {{}, e.message()};
        } catch (const std::exception &e) {
            return {{}, QString::fromLocal8Bit(e.what())};
        }
    }));
}

void ChunkJob::cancel()
{
    if (!m_running)
        return;
    m_cancelRequested = true;
    m_chunker->cancel();
}

void ChunkJob::onDone()
{
    m_running = false;
    const Outcome outcome = m_watcher.result();
    // A Cancel that came after the last chunk was committed is too late: the output exists, so
    // say so rather than "nothing was written".
    if (outcome.error.isEmpty())
        Q_EMIT finished(outcome.manifest, m_outputDir);
    else if (m_cancelRequested)
        Q_EMIT cancelled();
    else
        Q_EMIT failed(outcome.error);
}

} // namespace surfing::ui
