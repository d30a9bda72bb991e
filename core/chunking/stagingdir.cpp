#include "chunking/stagingdir.h"

#include "base/error.h"
#include "base/files.h"
#include "format/chunkmanifest.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <csignal>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

Q_LOGGING_CATEGORY(lcStaging, "surfing.chunker.staging")

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

// A stale staging entry is ours to remove only when it is a real directory (not a link to
// one), owned by this user, and holds our marker or a manifest: another user of a shared parent
// such as /tmp can plant an entry with a matching name, but not one that passes these checks.
bool isOurStaleEntry(const QDir &parent, const QString &entry)
{
    const QByteArray path = QFile::encodeName(parent.filePath(entry));
    struct stat st;
    if (::lstat(path.constData(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid())
        return false;
    const int dirFd = ::open(path.constData(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dirFd < 0)
        return false;
    const auto hasRegularFile = [dirFd](const char *name) {
        struct stat file;
        return ::fstatat(dirFd, name, &file, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(file.st_mode);
    };
    const bool ours = hasRegularFile(kStagingMarkerName) || hasRegularFile(kManifestFileName);
    ::close(dirFd);
    return ours;
}

void removeStaleSiblings(const QDir &parent, const QString &name)
{
    const QRegularExpression pattern(QStringLiteral("^\\.%1\\.(partial|old)-(\\d+)-\\w+$")
                                         .arg(QRegularExpression::escape(name)));
    const QStringList entries = parent.entryList(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot);
    for (const QString &entry : entries) {
        const auto match = pattern.match(entry);
        if (!match.hasMatch() || ::kill(pid_t(match.captured(2).toLongLong()), 0) == 0)
            continue;
        if (::rmdir(QFile::encodeName(parent.filePath(entry)).constData()) == 0)
            continue; // an empty directory (never a link): nothing to check
        if (!isOurStaleEntry(parent, entry)) {
            qCWarning(lcStaging).noquote() << parent.filePath(entry)
                                           << "looks like a staging directory but was not made by this user's surfing; left alone";
            continue;
        }
        if (!removeTreeNoFollow(parent.filePath(entry)))
            qCWarning(lcStaging).noquote() << "cannot remove the stale" << parent.filePath(entry) << ':' << strerror(errno);
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
    if (isSymbolicLink(m_destination) && !info.exists())
        throw Error(QStringLiteral("%1: is a symbolic link to nothing; remove it or choose another output").arg(m_destination));
    removeStaleSiblings(parent, info.fileName());
    m_path = parent.filePath(QStringLiteral(".%1.partial-%2-%3")
                                 .arg(info.fileName()).arg(::getpid())
                                 .arg(QRandomGenerator::global()->generate(), 8, 16, QLatin1Char('0')));
    if (!QDir().mkdir(m_path))
        throw Error(QStringLiteral("%1: cannot create a directory here (read-only or not a directory?)")
                        .arg(parent.path()));
    writeWholeFile(filePath(QLatin1String(kStagingMarkerName)), "surfing chunk staging directory\n", false);
}

StagingDir::~StagingDir()
{
    if (!m_committed)
        removeTreeNoFollow(m_path);
}

QString StagingDir::filePath(const QString &name) const
{
    return m_path + QLatin1Char('/') + name;
}

void StagingDir::commit(bool replaceExisting, bool sync)
{
    QFile::remove(filePath(QLatin1String(kStagingMarkerName)));
    if (sync)
        syncPath(m_path);
    const QFileInfo destination(m_destination);
    QString aside;
    if (pathEntryExists(m_destination)) {
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
    if (!aside.isEmpty() && !removeTreeNoFollow(aside))
        qCWarning(lcStaging).noquote() << "cannot remove the replaced output" << aside << ':' << strerror(errno);
}

void writeWholeFile(const QString &path, const QByteArray &bytes, bool sync)
{
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size() || !file.flush()
        || (sync && ::fsync(file.handle()) != 0))
        throw Error(QStringLiteral("%1: cannot write: %2").arg(path, file.errorString()));
}

} // namespace surfing
