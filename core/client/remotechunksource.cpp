#include "client/remotechunksource.h"

#include "base/error.h"

#include <condition_variable>

namespace surfing {

RemoteChunkSource::RemoteChunkSource(const RemoteChunkSourceOptions &options)
    : FetchingChunkSource(options.policy)
{
    cache().setBudget(options.cacheBytes, options.cacheChunks);
    m_thread.setObjectName(QStringLiteral("surfing-network"));
    m_client = new WeightClient(options.client);
    m_client->moveToThread(&m_thread);
    QObject::connect(&m_thread, &QThread::finished, m_client, &QObject::deleteLater);

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
    const auto c1 = QObject::connect(m_client, &WeightClient::manifestReceived, m_client,
                                     [handshake] { handshake->finish({}); }, Qt::DirectConnection);
    const auto c2 = QObject::connect(m_client, &WeightClient::errorOccurred, m_client,
                                     [handshake](const QString &message) { handshake->finish(message); },
                                     Qt::DirectConnection);
    // Results arrive on pool threads and are handed straight to the waiting compute thread.
    QObject::connect(m_client, &WeightClient::chunkReceived, m_client,
                     [this](quint32, const QString &name, const QByteArray &data, qint64 stored, qint64 start, qint64 end) {
                         delivered(name, data, stored, start, end);
                     }, Qt::DirectConnection);
    QObject::connect(m_client, &WeightClient::requestFailed, m_client,
                     [this](quint32, const QString &name, const QString &, const QString &message) {
                         if (!name.isEmpty())
                             failed(name, message);
                     }, Qt::DirectConnection);
    if (options.connectionStateChanged)
        QObject::connect(m_client, &WeightClient::connectionStateChanged, m_client, options.connectionStateChanged,
                         Qt::DirectConnection);
    m_thread.start();
    QMetaObject::invokeMethod(m_client, &WeightClient::open);
    QString error;
    {
        std::unique_lock lock(handshake->mutex);
        handshake->ready.wait(lock, [&] { return handshake->done; });
        error = handshake->error;
    }
    QObject::disconnect(c1);
    QObject::disconnect(c2);
    if (!error.isEmpty()) {
        m_thread.quit();
        m_thread.wait();
        throw Error(error);
    }
    m_manifest = m_client->manifest();
    m_origin = QStringLiteral("model '%1' on %2").arg(m_client->modelName(), options.client.url.toDisplayString());
}

RemoteChunkSource::~RemoteChunkSource()
{
    QMetaObject::invokeMethod(m_client, &WeightClient::close, Qt::BlockingQueuedConnection);
    m_thread.quit();
    m_thread.wait();
    failAll(QStringLiteral("the source was closed"));
}

void RemoteChunkSource::startFetch(const QString &name)
{
    m_client->fetchChunk(name);
}

} // namespace surfing
