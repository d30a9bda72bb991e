#include "testsupport.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcessEnvironment>

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

} // namespace surfing::test
