#include "chunking/stagingdir.h"

#include "base/error.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <csignal>
#include <fcntl.h>
#include <unistd.h>

namespace surfing {
namespace {

void syncPath(const QString &path)
{
    const int fd = ::open(QFile::encodeName(path).constData(), O_RDONLY);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

void removeStaleSiblings(const QDir &parent, const QString &name)
{
    const QRegularExpression pattern(QStringLiteral("^\\.%1\\.(partial|old)-(\\d+)-\\w+$")
                                         .arg(QRegularExpression::escape(name)));
    const QStringList entries = parent.entryList(QDir::Dirs | QDir::Hidden | QDir::NoDotAndDotDot);
    for (const QString &entry : entries) {
        const auto match = pattern.match(entry);
        if (match.hasMatch() && ::kill(pid_t(match.captured(2).toLongLong()), 0) != 0)
            QDir(parent.filePath(entry)).removeRecursively();
    }
}

} // namespace

StagingDir::StagingDir(const QString &destination)
    : m_destination(QFileInfo(destination).absoluteFilePath())
{
    const QFileInfo info(m_destination);
    QDir parent = info.dir();
    if (!parent.exists() && !QDir().mkpath(parent.path()))
        throw Error(QStringLiteral("%1: cannot create the parent directory").arg(parent.path()));
    if (info.exists() && !info.isDir())
        throw Error(QStringLiteral("%1: exists and is not a directory").arg(m_destination));
    removeStaleSiblings(parent, info.fileName());
    m_path = parent.filePath(QStringLiteral(".%1.partial-%2-%3")
                                 .arg(info.fileName()).arg(::getpid())
                                 .arg(QRandomGenerator::global()->generate(), 8, 16, QLatin1Char('0')));
    if (!QDir().mkdir(m_path))
        throw Error(QStringLiteral("%1: cannot create a directory here (read-only or not a directory?)")
                        .arg(parent.path()));
}

StagingDir::~StagingDir()
{
    if (!m_committed)
        QDir(m_path).removeRecursively();
}

QString StagingDir::filePath(const QString &name) const
{
    return m_path + QLatin1Char('/') + name;
}

void StagingDir::commit(bool replaceExisting, bool sync)
{
    if (sync)
        syncPath(m_path);
    const QFileInfo destination(m_destination);
    QString aside;
    if (destination.exists()) {
        if (!replaceExisting)
            throw Error(QStringLiteral("%1: already exists; choose another output or replace it (--force)")
                            .arg(m_destination));
        aside = QString(m_path).replace(QLatin1String(".partial-"), QLatin1String(".old-"));
        if (::rename(QFile::encodeName(m_destination).constData(), QFile::encodeName(aside).constData()) != 0)
            throw Error(QStringLiteral("%1: cannot move the existing directory aside: %2")
                            .arg(m_destination, QString::fromLocal8Bit(strerror(errno))));
    }
    if (::rename(QFile::encodeName(m_path).constData(), QFile::encodeName(m_destination).constData()) != 0) {
        const QString reason = QString::fromLocal8Bit(strerror(errno));
        if (!aside.isEmpty())
            ::rename(QFile::encodeName(aside).constData(), QFile::encodeName(m_destination).constData());
        throw Error(QStringLiteral("%1: cannot move the finished output into place: %2").arg(m_destination, reason));
    }
    m_committed = true;
    if (sync)
        syncPath(destination.absolutePath());
    if (!aside.isEmpty())
        QDir(aside).removeRecursively();
}

void writeWholeFile(const QString &path, const QByteArray &bytes, bool sync)
{
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size() || !file.flush()
        || (sync && ::fsync(file.handle()) != 0))
        throw Error(QStringLiteral("%1: cannot write: %2").arg(path, file.errorString()));
}

} // namespace surfing
