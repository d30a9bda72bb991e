#include "client/modelopener.h"

#include "base/error.h"
#include "base/savefile.h"
#include "client/localchunksource.h"
#include "client/remotechunksource.h"

#include <QDir>
#include <QFileInfo>
#include <QHash>
#include <condition_variable>
#include <mutex>

namespace surfing {

QUrl parseServerUrl(const QString &text)
{
    const QUrl url(text.trimmed());
    if (!url.isValid() || url.host().isEmpty() || (url.scheme() != QLatin1String("ws") && url.scheme() != QLatin1String("wss")))
        throw Error(QStringLiteral("'%1' is not a server URL: expected ws://HOST:PORT[/MODEL] or wss://HOST:PORT[/MODEL]").arg(text));
    return url;
}

void fetchModelFiles(RemoteChunkSource &source, const QString &dir)
{
    const QStringList wanted = source.manifest().fileNames();
    if (!wanted.contains(QStringLiteral("config.json")))
        throw Error(QStringLiteral("the server's manifest lists no config.json beside the chunks; re-chunk the model"));
    // The answers arrive on the network thread (matched by name: a file is asked for once);
    // they are written here, on the caller's thread.
    struct Arrivals {
        std::mutex mutex;
        std::condition_variable changed;
        QHash<QString, QByteArray> received;
        QString failure;
    };
    auto arrivals = std::make_shared<Arrivals>();
    WeightClient *client = source.client();
    const auto onFile = QObject::connect(client, &WeightClient::fileReceived, client,
        [arrivals, wanted](quint32, const QString &name, const QByteArray &data) {
            if (!wanted.contains(name))
                return;
            std::lock_guard lock(arrivals->mutex);
            arrivals->received.insert(name, data);
            arrivals->changed.notify_all();
        }, Qt::DirectConnection);
    const auto onFailure = QObject::connect(client, &WeightClient::requestFailed, client,
        [arrivals, wanted](quint32, const QString &name, const QString &, const QString &message) {
            if (!wanted.contains(name))
                return;
            std::lock_guard lock(arrivals->mutex);
            if (arrivals->failure.isEmpty())
                arrivals->failure = message;
            arrivals->changed.notify_all();
        }, Qt::DirectConnection);
    for (const QString &name : wanted)
        client->fetchFile(name);
    {
        std::unique_lock lock(arrivals->mutex);
        arrivals->changed.wait(lock, [&] { return arrivals->received.size() == wanted.size() || !arrivals->failure.isEmpty(); });
    }
    QObject::disconnect(onFile);
    QObject::disconnect(onFailure);
    std::lock_guard lock(arrivals->mutex);
    if (!arrivals->failure.isEmpty())
        throw Error(QStringLiteral("fetching the model files from the server: %1").arg(arrivals->failure));
    for (auto it = arrivals->received.cbegin(); it != arrivals->received.cend(); ++it) {
        QString error;
        if (!saveFile(QDir(dir).filePath(it.key()), it.value(), &error))
            throw Error(error);
    }
}

OpenedModel openModel(const ModelOpenOptions &o)
{
    OpenedModel opened;
    if (o.serverUrl.isEmpty()) {
        if (o.chunkDir.isEmpty())
            throw Error(QStringLiteral("no model given: a chunk folder or a server URL is needed"));
        opened.source = std::make_shared<LocalChunkSource>(o.chunkDir, o.cacheBytes, o.cacheChunks);
        opened.source->setCompressedCacheBudget(o.compressedCacheBytes);
        opened.filesDir = o.chunkDir;
        return opened;
    }
    RemoteChunkSourceOptions options;
    options.client.url = parseServerUrl(o.serverUrl.toString());
    if (!o.replicas.isEmpty())
        options.servers = QList<QUrl>{options.client.url} + o.replicas;
    options.client.model = o.model;
    options.client.token = o.token;
    options.client.clientName = o.clientName;
    if (o.timeoutMs > 0) {
        options.client.requestTimeoutMs = o.timeoutMs;
        options.client.connectTimeoutMs = o.timeoutMs;
    }
    if (o.peerTimeoutMs >= 0)
        options.client.peerTimeoutMs = o.peerTimeoutMs;
    options.cacheBytes = o.cacheBytes;
    options.cacheChunks = o.cacheChunks;
    options.connectionStateChanged = o.connectionStateChanged;
    auto remote = std::make_shared<RemoteChunkSource>(options);
    remote->setCompressedCacheBudget(o.compressedCacheBytes);
    opened.isRemote = true;
    if (!o.chunkDir.isEmpty() && QFileInfo::exists(QDir(o.chunkDir).filePath(QStringLiteral("config.json")))) {
        opened.filesDir = o.chunkDir; // our own server: its files are on this disk
    } else {
        opened.staging = std::make_shared<QTemporaryDir>();
        if (!opened.staging->isValid())
            throw Error(QStringLiteral("cannot create a temporary folder for the model's config and tokenizer: %1")
                            .arg(opened.staging->errorString()));
        fetchModelFiles(*remote, opened.staging->path());
        opened.filesDir = opened.staging->path();
    }
    opened.source = remote;
    return opened;
}

} // namespace surfing
