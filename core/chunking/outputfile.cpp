#include "chunking/outputfile.h"

#include "base/error.h"

#include <QFile>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace surfing {
namespace {

QString lastError()
{
    return QString::fromLocal8Bit(std::strerror(errno));
}

} // namespace

InputFile::InputFile(const QString &path)
    : m_path(path), m_fd(::open(QFile::encodeName(path).constData(), O_RDONLY | O_CLOEXEC))
{
    if (m_fd < 0)
        throw Error(QStringLiteral("%1: cannot open: %2").arg(path, lastError()));
}

InputFile::~InputFile()
{
    ::close(m_fd);
}

void InputFile::readAt(qint64 offset, char *into, qint64 size) const
{
    qint64 done = 0;
    while (done < size) {
        const ssize_t got = ::pread(m_fd, into + done, size_t(size - done), off_t(offset + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            throw Error(QStringLiteral("%1: read failed: %2").arg(m_path, lastError()));
        if (got == 0)
            throw Error(QStringLiteral("%1: ends before byte %2 (was it changed while chunking?)").arg(m_path).arg(offset + size));
        done += got;
    }
}

OutputFile::OutputFile(const QString &path)
    : m_path(path), m_fd(::open(QFile::encodeName(path).constData(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644))
{
    if (m_fd < 0)
        throw Error(QStringLiteral("%1: cannot create: %2").arg(path, lastError()));
}

OutputFile::~OutputFile()
{
    if (m_fd >= 0)
        ::close(m_fd);
}

void OutputFile::fail(const char *what) const
{
    throw Error(QStringLiteral("%1: %2 failed (disk full?): %3").arg(m_path, QLatin1String(what), lastError()));
}

void OutputFile::write(QByteArrayView bytes)
{
    const char *at = bytes.data();
    qint64 left = bytes.size();
    while (left > 0) {
        const ssize_t written = ::write(m_fd, at, size_t(left));
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            fail("write");
        at += written;
        left -= written;
    }
}

void OutputFile::finish(bool sync)
{
    if (sync && ::fsync(m_fd) != 0)
        fail("fsync");
    const int fd = std::exchange(m_fd, -1);
    if (::close(fd) != 0)
        fail("close");
}

} // namespace surfing
