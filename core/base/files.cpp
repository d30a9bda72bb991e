#include "base/files.h"

#include "base/error.h"

#include <QFile>
#include <QFileInfo>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace surfing {
namespace {

QString lastError()
{
    return QString::fromLocal8Bit(std::strerror(errno));
}

const char *fileKind(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    return "not a regular file";
}

[[noreturn]] void throwNotRegular(const QString &path, mode_t mode)
{
    throw Error(QStringLiteral("%1: is %2, not a regular file; model and chunk files must be regular files")
                    .arg(path, QLatin1String(fileKind(mode))));
}

// Removes the entry `name` of the directory open as `parentFd`, never following a link.
bool removeEntry(int parentFd, const char *name)
{
    const int fd = ::openat(parentFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOTDIR || errno == ELOOP)
            return ::unlinkat(parentFd, name, 0) == 0 || errno == ENOENT;
        return errno == ENOENT;
    }
    DIR *dir = ::fdopendir(fd);
    if (!dir) {
        ::close(fd);
        return false;
    }
    bool ok = true;
    while (const dirent *entry = ::readdir(dir)) {
        if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0)
            continue;
        if (!removeEntry(::dirfd(dir), entry->d_name)) {
            ok = false;
            break;
        }
    }
    const int savedErrno = errno;
    ::closedir(dir);
    if (!ok) {
        errno = savedErrno;
        return false;
    }
    return ::unlinkat(parentFd, name, AT_REMOVEDIR) == 0 || errno == ENOENT;
}

} // namespace

int openRegularFile(const QString &path)
{
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    const int fd = ::open(QFile::encodeName(path).constData(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        throw Error(QStringLiteral("%1: cannot open: %2").arg(path, lastError()));
    struct stat st = {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        const mode_t mode = st.st_mode;
        ::close(fd);
        throwNotRegular(path, mode);
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

QByteArray readRegularFile(const QString &path, qint64 maxBytes)
{
    const int fd = openRegularFile(path);
    struct stat st = {};
    ::fstat(fd, &st);
    if (st.st_size > maxBytes) {
        ::close(fd);
        throw Error(QStringLiteral("%1: larger than %2 bytes").arg(path).arg(maxBytes));
    }
    QByteArray bytes(qsizetype(st.st_size), Qt::Uninitialized);
    qint64 done = 0;
    while (done < bytes.size()) {
        const ssize_t got = ::read(fd, bytes.data() + done, size_t(bytes.size() - done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            const QString reason = got < 0 ? lastError() : QStringLiteral("it shrank while being read");
            ::close(fd);
            throw Error(QStringLiteral("%1: read failed: %2").arg(path, reason));
        }
        done += got;
    }
    ::close(fd);
    return bytes;
}

void requireRegularFile(const QString &path)
{
    struct stat st;
    if (::stat(QFile::encodeName(path).constData(), &st) == 0 && !S_ISREG(st.st_mode))
        throwNotRegular(path, st.st_mode);
}

bool pathEntryExists(const QString &path)
{
    struct stat st;
    return ::lstat(QFile::encodeName(path).constData(), &st) == 0;
}

bool isSymbolicLink(const QString &path)
{
    struct stat st;
    return ::lstat(QFile::encodeName(path).constData(), &st) == 0 && S_ISLNK(st.st_mode);
}

bool removeTreeNoFollow(const QString &path)
{
    const QFileInfo info(path);
    const int parentFd = ::open(QFile::encodeName(info.absolutePath()).constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (parentFd < 0)
        return false;
    const bool ok = removeEntry(parentFd, QFile::encodeName(info.fileName()).constData());
    const int savedErrno = errno;
    ::close(parentFd);
    errno = savedErrno;
    return ok;
}

} // namespace surfing
