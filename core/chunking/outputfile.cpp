#include "chunking/outputfile.h"

#include "base/error.h"

#include <QFile>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace surfing {
namespace {

QString lastError()
{
    return QString::fromLocal8Bit(std::strerror(errno));
}

} // namespace

InputFile::InputFile(const QString &path)
    : m_fd(::open(QFile::encodeName(path).constData(), O_RDONLY | O_CLOEXEC))
{
    if (m_fd < 0)
        throw Error(QStringLiteral("%1: cannot open: %2").arg(path, lastError()));
}

InputFile::~InputFile()
{
    ::close(m_fd);
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

void OutputFile::copyFrom(const InputFile &source, qint64 offset, QByteArrayView bytes)
{
    loff_t from = offset;
    qint64 done = 0;
    while (done < bytes.size()) {
        const ssize_t copied = ::copy_file_range(source.descriptor(), &from, m_fd, nullptr, size_t(bytes.size() - done), 0);
        if (copied < 0 && errno == EINTR)
            continue;
        if (copied < 0 && done == 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL))
            return write(bytes); // e.g. across file systems on older kernels
        if (copied <= 0)
            fail("write");
        done += copied;
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

void populateForReading(QByteArrayView mappedBytes)
{
#ifdef MADV_POPULATE_READ
    static const auto pageSize = quintptr(::sysconf(_SC_PAGESIZE));
    const quintptr begin = quintptr(mappedBytes.data()) & ~(pageSize - 1);
    const quintptr end = quintptr(mappedBytes.data()) + quintptr(mappedBytes.size());
    ::madvise(reinterpret_cast<void *>(begin), end - begin, MADV_POPULATE_READ);
#else
    Q_UNUSED(mappedBytes)
#endif
}

} // namespace surfing
