#include "client/remotechunksource.h"

#include "base/error.h"

#include <condition_variable>

namespace surfing {

RemoteChunkSource::RemoteChunkSource(const RemoteChunkSourceOptions &options)
    : FetchingChunkSource(options.policy)
{
    cache().setBudget(options.cacheBytes, options.cacheChunks);
    m_thread.setObjectName(QStringLiteral("surfing-network"));
    const QList<QUrl> urls = options.servers.isEmpty() ? QList<QUrl>{options.client.url} : options.servers;
    WeightClientOptions client = options.client;
    // A re-fetched chunk is computed on as its blocks are verified; SURFING_ARRIVING=off hands
    // out whole chunks only (for comparison: docs/benchmarks-bounded.md, Round 6).
    if (qgetenv("SURFING_ARRIVING").trimmed().toLower() != "off")
        client.arrivals = [this](const QString &chunk) { return arrivalOf(chunk); };
    m_pool = new ServerPool(client, urls);
    m_pool->moveToThread(&m_thread);
    QObject::connect(&m_thread, &QThread::finished, m_pool, &QObject::deleteLater);

    // Shared with the handshake callbacks, which may still run on the network thread after we
    // stopped waiting.
    struct Handshake {
        std::mutex mutex;
        std::condition_variable ready;
        bool done = false;
        QString error;
        void finish(const QString &message)
        {
            std::lock_guard lock(mutex);
            if (!done) {
                done = true;
                error = message;
            }
            ready.notify_all();
        }
    };
    auto handshake = std::make_shared<Handshake>();
    const auto c1 = QObject::connect(m_pool, &ServerPool::ready, m_pool, [handshake] { handshake->finish({}); },
                                     Qt::DirectConnection);
    const auto c2 = QObject::connect(m_pool, &ServerPool::openFailed, m_pool,
                                     [handshake](const QString &message) { handshake->finish(message); },
                                     Qt::DirectConnection);
    // Results arrive on pool threads and are handed straight to the waiting compute thread.
    QObject::connect(m_pool, &ServerPool::chunkDelivered, m_pool,
                     [this](const QString &name, const QByteArray &data, qint64 stored, qint64 start, qint64 end,
                            const QByteArray &received) { delivered(name, data, stored, start, end, received);
                     }, Qt::DirectConnection);
    QObject::connect(m_pool, &ServerPool::chunkFailed, m_pool,
                     [this](const QString &name, const QString &message) { failed(name, message); },
                     Qt::DirectConnection);
    if (options.connectionStateChanged) {
        auto notify = options.connectionStateChanged;
        QObject::connect(m_pool, &ServerPool::memberStateChanged, m_pool,
                         [notify](const QUrl &, ConnectionState state) { notify(state); }, Qt::DirectConnection);
    }
    m_thread.start();
    QMetaObject::invokeMethod(m_pool, &ServerPool::open);
    QString error;
    {
        std::unique_lock lock(handshake->mutex);
        handshake->ready.wait(lock, [&] { return handshake->done; });
        error = handshake->error;
    }
    QObject::disconnect(c1);
    QObject::disconnect(c2);
    if (!error.isEmpty()) {
        QMetaObject::invokeMethod(m_pool, &ServerPool::close, Qt::BlockingQueuedConnection);
        m_thread.quit();
        m_thread.wait();
        throw Error(error);
    }
    m_client = m_pool->primary();
    m_manifest = m_client->manifest();
    QStringList shown;
    for (const QUrl &url : urls)
        shown << url.toDisplayString();
    m_origin = QStringLiteral("model '%1' on %2").arg(m_client->modelName(), shown.join(QLatin1String(", ")));
}

RemoteChunkSource::~RemoteChunkSource()
{
    stopCompressedDecodes();
    QMetaObject::invokeMethod(m_pool, &ServerPool::close, Qt::BlockingQueuedConnection);
    m_thread.quit();
    m_thread.wait();
    failAll(QStringLiteral("the source was closed"));
}

void RemoteChunkSource::startFetch(const QString &name)
{
    m_pool->fetchChunk(name);
}

} // namespace surfing
