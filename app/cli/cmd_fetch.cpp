// surfing-cli fetch --server URL[,URL...] (NAME...|--all) -o DIR: mirror a model's chunk directory
// from a weight server, or from replicas of it with the failover of `run` (ServerPool). Every chunk is checked against the manifest's SHA-256 before it is written;
// the directory appears (by rename) only when everything arrived; on any failure, SIGINT or
// SIGTERM the hidden staging directory is removed. --verify-only fetches and checks everything
// without writing (load tests); --stats-json writes per-chunk latencies.
#include "command.h"
#include "progressbar.h"
#include "savefile.h"
#include "signalwatch.h"

#include "base/error.h"
#include "chunking/stagingdir.h"
#include "client/serverpool.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <optional>

namespace surfing::cli {
namespace {

struct FetchJob {
    QEventLoop loop;
    QString error;
    QStringList missingFiles; // listed by the manifest, not offered by the server
    QSet<QString> pending; // chunk names, and files as "file:NAME"
    QHash<QString, QString> chunkFiles; // chunk name -> file name, of those asked for
    qint64 doneBytes = 0;
    qint64 totalBytes = 0;
    QJsonArray latenciesMs; // per chunk: request sent to bytes verified
};

struct FetchOutput {
    QString dir;       // empty: verify only, write nothing
    QString statsJson; // empty: none
};

void writeStats(const FetchJob &job, const QString &path, double seconds)
{
    const QJsonObject stats{{"chunks", job.latenciesMs.size()}, {"bytes", double(job.doneBytes)},
                            {"seconds", seconds}, {"chunk_latency_ms", job.latenciesMs}};
    QString error;
    if (!saveFile(path, QJsonDocument(stats).toJson(QJsonDocument::Compact), &error))
        throw Error(error);
}

bool writeFile(const QString &path, const QByteArray &data, QString *error)
{
    return saveFile(path, data, error);
}

QByteArray manifestToWrite(const QByteArray &serverJson, const QStringList &missingFiles)
{
    if (missingFiles.isEmpty())
        return serverJson;
    QJsonObject root = QJsonDocument::fromJson(serverJson).object();
    QJsonArray files;
    for (const QJsonValue &f : root.value(QLatin1String("files")).toArray()) {
        const QString name = f.isObject() ? f.toObject().value(QLatin1String("name")).toString() : f.toString();
        if (!missingFiles.contains(name))
            files.append(f);
    }
    root.insert(QStringLiteral("files"), files);
    return QJsonDocument(root).toJson(QJsonDocument::Indented);
}

QString fileKey(const QString &name)
{
    return QStringLiteral("file:") + name;
}

// Requests everything once the manifest is known; returns false (with job.error) on bad names.
bool requestAll(ServerPool &pool, FetchJob &job, QStringList names, bool all)
{
    const ChunkManifest manifest = pool.manifest();
    if (all) {
        names.clear();
        for (const ManifestChunk &c : manifest.chunks)
            names << c.name;
    }
    QHash<QString, const ManifestChunk *> byName; // a manifest may list many chunks: no find() each
    for (const ManifestChunk &c : manifest.chunks)
        byName.insert(c.name, &c);
    for (const QString &name : names) {
        const ManifestChunk *chunk = byName.value(name);
        if (!chunk) {
            QStringList known;
            for (const ManifestChunk &c : manifest.chunks)
                known << c.name;
            job.error = QStringLiteral("model '%1' has no chunk '%2' (it has: %3)").arg(pool.primary()->modelName(), name, known.join(QLatin1String(", ")));
            return false;
        }
        if (job.chunkFiles.contains(name))
            continue; // named twice
        job.totalBytes += chunk->storedBytes;
        job.chunkFiles.insert(name, chunk->file);
        job.pending.insert(name);
        pool.fetchChunk(name, true);
    }
    for (const ManifestFile &file : manifest.files) {
        job.pending.insert(fileKey(file.name));
        pool.fetchFile(file.name);
    }
    return true;
}

int fetchInto(const WeightClientOptions &options, const QList<QUrl> &servers, const QStringList &names, bool all,
              const FetchOutput &output)
{
    QElapsedTimer elapsed;
    elapsed.start();
    FetchJob job;
    auto stop = [&job](const QString &error) {
        if (job.error.isEmpty())
            job.error = error;
        job.loop.quit();
    };
    // Before the staging directory, so that it is gone before the default handlers return.
    const SignalWatch interrupted([&](int signal) {
        stop(QStringLiteral("interrupted by %1; the partial copy was removed").arg(SignalWatch::name(signal)));
    });
    std::optional<StagingDir> staging;
    if (!output.dir.isEmpty())
        staging.emplace(output.dir);
    ServerPool pool(options, servers);
    ProgressBar bar(QStringLiteral("fetching"));
    auto settle = [&job](const QString &key) {
        job.pending.remove(key);
        if (job.pending.isEmpty())
            job.loop.quit();
    };
    QObject::connect(&pool, &ServerPool::ready, &pool, [&] {
        if (!requestAll(pool, job, names, all))
            stop(job.error);
        else if (job.pending.isEmpty())
            job.loop.quit();
    }, Qt::QueuedConnection);
    QObject::connect(&pool, &ServerPool::chunkDelivered, &pool,
                     [&](const QString &name, const QByteArray &data, qint64, qint64 startNs, qint64 endNs) {
        QString error;
        if (staging && !writeFile(staging->filePath(job.chunkFiles.value(name)), data, &error))
            return stop(error);
        job.latenciesMs.append(double(endNs - startNs) / 1e6);
        job.doneBytes += data.size();
        bar.update(job.doneBytes, job.totalBytes, name);
        settle(name);
    }, Qt::QueuedConnection);
    QObject::connect(&pool, &ServerPool::fileDelivered, &pool, [&](const QString &name, const QByteArray &data) {
        QString error;
        if (staging && !writeFile(staging->filePath(name), data, &error))
            return stop(error);
        settle(fileKey(name));
    }, Qt::QueuedConnection);
    QObject::connect(&pool, &ServerPool::chunkFailed, &pool, [&](const QString &, const QString &message) { stop(message); },
                     Qt::QueuedConnection);
    QObject::connect(&pool, &ServerPool::fileFailed, &pool, [&](const QString &name, const QString &code, const QString &message) {
        if (code == QLatin1String("bad_request")) {
            printErr(QStringLiteral("warning: the server does not offer '%1' (it predates file requests); "
                                    "the copy will lack it").arg(name));
            job.missingFiles << name;
            return settle(fileKey(name));
        }
        stop(message);
    }, Qt::QueuedConnection);
    QObject::connect(&pool, &ServerPool::openFailed, &pool, [&](const QString &message) { stop(message); },
                     Qt::QueuedConnection);
    pool.open();
    job.loop.exec();
    pool.close();
    if (!job.error.isEmpty())
        throw Error(job.error);
    if (interrupted.caught()) // it arrived after the loop ended
        throw Error(QStringLiteral("interrupted by %1; the partial copy was removed").arg(SignalWatch::name(interrupted.caught())));

    if (!output.statsJson.isEmpty())
        writeStats(job, output.statsJson, double(elapsed.nsecsElapsed()) / 1e9);
    if (!staging) {
        printOut(QStringLiteral("fetched and verified %1 of model '%2'").arg(formatBytes(job.doneBytes), pool.primary()->modelName()));
        return ExitSuccess;
    }
    QString error;
    if (!writeFile(staging->filePath(QLatin1String(kManifestFileName)), manifestToWrite(pool.primary()->manifestJson(), job.missingFiles), &error))
        throw Error(error);
    staging->commit(false, false);
    printOut(QStringLiteral("fetched %1 of model '%2' into %3").arg(formatBytes(job.doneBytes), pool.primary()->modelName(), output.dir));
    return ExitSuccess;
}

int runFetch(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.addPositionalArgument(QStringLiteral("NAME"), QStringLiteral("Chunks to fetch (or --all)."), QStringLiteral("[NAME...]"));
    parser.addOptions({
        {QStringLiteral("server"), QStringLiteral("Weight server URL, ws://HOST:PORT[/MODEL] or wss://... Several replicas of one "
                                                  "model: comma-separated or repeated; chunks are spread over them and a failing "
                                                  "one's requests go to the others."), QStringLiteral("URL")},
        {QStringLiteral("model"), QStringLiteral("Model to fetch (default: the URL path, else the server's default)."), QStringLiteral("MODEL")},
        {QStringLiteral("token"), QStringLiteral("Token the server was started with."), QStringLiteral("TOKEN")},
        {QStringLiteral("ca-cert"), QStringLiteral("wss: also trust the certificate(s) in this PEM file."), QStringLiteral("FILE")},
        {QStringLiteral("all"), QStringLiteral("Fetch every chunk (a complete mirror that 'surfing-cli verify' passes).")},
        {{QStringLiteral("o"), QStringLiteral("output")}, QStringLiteral("Directory to create (must not exist)."), QStringLiteral("DIR")},
        {QStringLiteral("verify-only"), QStringLiteral("Fetch and verify every chunk's SHA-256, write nothing (no -o; load tests).")},
        {QStringLiteral("stats-json"), QStringLiteral("Write {chunks, bytes, seconds, chunk_latency_ms: [...]} to this file at the end."),
         QStringLiteral("FILE")},
        {QStringLiteral("timeout"), QStringLiteral("Fail a request that makes no progress for this many seconds (default 30), "
                                                   "and connecting (TCP, TLS, upgrade, hello) after this long (default 10)."),
         QStringLiteral("SECONDS")},
        {QStringLiteral("peer-timeout"), QStringLiteral("Take a server that sends nothing for this many seconds while requests wait on it, "
                                                        "not even the answer to a ping sent halfway, for gone (a black-holed host): connect "
                                                        "again, and with several servers move its requests to the others (default 10, 0 = off). "
                                                        "A server that dies closes the connection, which is seen at once."),
         QStringLiteral("SECONDS")},
    });
    const int parsed = parseArguments(parser, arguments,
        QStringLiteral("Copy a model's chunk directory from a weight server, verifying every chunk's SHA-256."));
    if (parsed >= 0)
        return parsed;
    if (!parser.isSet(QStringLiteral("server")))
        return usageError(QStringLiteral("fetch needs --server ws://HOST:PORT (or wss://; several separated by commas)"));
    QString serverError;
    const QList<QUrl> servers = parseServerList(parser.values(QStringLiteral("server")), &serverError);
    if (servers.isEmpty())
        return usageError(QStringLiteral("--server: %1").arg(serverError));
    const bool all = parser.isSet(QStringLiteral("all"));
    const QStringList names = parser.positionalArguments();
    if (all == !names.isEmpty())
        return usageError(QStringLiteral("fetch needs chunk NAMEs or --all (not both)"));
    const bool verifyOnly = parser.isSet(QStringLiteral("verify-only"));
    const QString out = QDir::cleanPath(QDir::current().absoluteFilePath(parser.value(QStringLiteral("output"))));
    if (verifyOnly == parser.isSet(QStringLiteral("output")))
        return usageError(QStringLiteral("fetch needs -o DIR, or --verify-only (not both)"));
    if (!verifyOnly && QFileInfo::exists(out))
        return usageError(QStringLiteral("%1 already exists; remove it or choose another -o").arg(out));
    bool ok = true;
    const bool timeoutSet = parser.isSet(QStringLiteral("timeout"));
    const int timeout = timeoutSet ? parser.value(QStringLiteral("timeout")).toInt(&ok) : 30;
    if (!ok || timeout < 1 || timeout > 86400)
        return usageError(QStringLiteral("--timeout must be 1..86400 seconds"));
    const double peerTimeout = parser.isSet(QStringLiteral("peer-timeout")) ? parser.value(QStringLiteral("peer-timeout")).toDouble(&ok) : 10;
    if (!ok || peerTimeout < 0 || peerTimeout > 3600)
        return usageError(QStringLiteral("--peer-timeout must be 0..3600 seconds"));

    WeightClientOptions options;
    options.url = servers.constFirst();
    options.model = parser.value(QStringLiteral("model"));
    options.token = parser.value(QStringLiteral("token"));
    options.caCertificateFile = parser.value(QStringLiteral("ca-cert"));
    options.clientName = QStringLiteral("surfing-cli %1 fetch").arg(QCoreApplication::applicationVersion());
    options.requestTimeoutMs = timeout * 1000;
    if (timeoutSet)
        options.connectTimeoutMs = timeout * 1000;
    options.peerTimeoutMs = int(peerTimeout * 1000);
    FetchOutput output;
    output.dir = verifyOnly ? QString() : out;
    output.statsJson = parser.value(QStringLiteral("stats-json"));
    return fetchInto(options, servers, names, all, output);
}

} // namespace

SURFING_CLI_COMMAND(fetch, "fetch", "Copy a model's chunks from a weight server, verified.", runFetch);
} // namespace surfing::cli
