#include "testsupport.h"

#include "base/error.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFileInfo>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcessEnvironment>
#include <QRandomGenerator>

namespace surfing::test {

QString sharedModelsDir()
{
    const QString dir = qEnvironmentVariable("SURFING_SHARED_MODELS");
    return QDir(dir).exists() ? QDir(dir).absolutePath() : QString();
}

QString sharedModel(const QString &name)
{
    const QString base = sharedModelsDir();
    if (base.isEmpty())
        return {};
    const QString path = base + QLatin1Char('/') + name;
    return QDir(path).exists() ? path : QString();
}

QString cliPath()
{
    return qEnvironmentVariable("SURFING_CLI");
}

CliResult runCli(const QStringList &args, const QString &workingDir)
{
    QProcess process;
    if (!workingDir.isEmpty())
        process.setWorkingDirectory(workingDir);
    process.start(cliPath(), args);
    CliResult result;
    if (!process.waitForStarted()) {
        result.err = "could not start " + cliPath().toUtf8();
        return result;
    }
    process.waitForFinished(-1);
    result.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    result.out = process.readAllStandardOutput();
    result.err = process.readAllStandardError();
    return result;
}

QStringList sixteenMiBLayerModelArgs()
{
    return {"--layers", "2", "--hidden", "512", "--intermediate", "2048", "--heads", "8", "--kv-heads", "8", "--vocab", "512"};
}

QString makeChunkedModel(const QString &dir, const QStringList &makeModelArgs, QByteArray *error)
{
    QDir().mkpath(dir);
    const QString model = dir + QStringLiteral("/model");
    const QString chunks = dir + QStringLiteral("/chunks");
    for (const QStringList &args : {QStringList{QStringLiteral("make-model")} + makeModelArgs + QStringList{QStringLiteral("-o"), model},
                                    QStringList{QStringLiteral("chunk"), model, QStringLiteral("-o"), chunks}}) {
        const CliResult r = runCli(args);
        if (r.exitCode != 0) {
            *error = args.join(QLatin1Char(' ')).toUtf8() + ": " + r.err;
            return {};
        }
    }
    return chunks;
}

QByteArray randomBytes(qint64 n, quint32 seed)
{
    QRandomGenerator random(seed);
    QByteArray out(n, Qt::Uninitialized);
    for (char &b : out)
        b = char(random.bounded(256));
    return out;
}

QString errorOf(const std::function<void()> &f)
{
    try {
        f();
    } catch (const Error &e) {
        return e.message();
    }
    return {};
}

qint64 procStatusValue(const QString &statusFile, const char *field)
{
    QFile status(statusFile);
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    const QByteArray prefix = QByteArray(field) + ':';
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith(prefix))
            return line.mid(prefix.size()).trimmed().split(' ').value(0).toLongLong();
    }
    return -1;
}

QByteArray readFile(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

QJsonObject readJsonObject(const QString &path)
{
    return QJsonDocument::fromJson(readFile(path)).object();
}

QVector<qint64> idsFromJson(const QJsonValue &array)
{
    QVector<qint64> ids;
    for (const QJsonValue &id : array.toArray())
        ids.append(id.toInteger());
    return ids;
}

namespace {

bool writeWhole(const QString &path, const QByteArray &bytes)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile file(path);
    return file.open(QIODevice::WriteOnly) && file.write(bytes) == bytes.size();
}

} // namespace

QString addHubSnapshot(const QString &cache, const QString &repoId, const QString &commit,
                       const QHash<QString, QByteArray> &files, bool setMain)
{
    const QString repoDir = cache + QStringLiteral("/models--") + QString(repoId).replace(QLatin1Char('/'), QLatin1String("--"));
    const QString snapshot = repoDir + QStringLiteral("/snapshots/") + commit;
    QDir().mkpath(snapshot);
    for (auto it = files.begin(); it != files.end(); ++it) {
        const QString hash = QString::fromLatin1(QCryptographicHash::hash(it.value(), QCryptographicHash::Sha256).toHex());
        writeWhole(repoDir + QStringLiteral("/blobs/") + hash, it.value());
        const QString link = snapshot + QLatin1Char('/') + it.key();
        QDir().mkpath(QFileInfo(link).absolutePath());
        QFile::link(QStringLiteral("../../blobs/") + hash, link);
    }
    if (setMain)
        writeWhole(repoDir + QStringLiteral("/refs/main"), commit.toLatin1());
    return snapshot;
}

QHash<QString, QByteArray> sharedModelFiles(const QString &model)
{
    QHash<QString, QByteArray> files;
    const QDir dir(sharedModel(model));
    for (const QString &name : dir.entryList(QDir::Files))
        files.insert(name, readFile(dir.filePath(name)));
    return files;
}

} // namespace surfing::test
