#include "server/splicedwriter.h"

#include <QLoggingCategory>

#include <cerrno>
#include <functional>

#if defined(__linux__) && defined(__GLIBC__)
#include <csignal>
#include <ctime>
#include <fcntl.h>
#include <pthread.h>
#include <sys/uio.h>
#include <unistd.h>
#endif

Q_LOGGING_CATEGORY(lcSplice, "surfing.server.splice")

namespace surfing {

#if defined(__linux__) && defined(__GLIBC__)

SplicedWriter::SplicedWriter()
{
    if (::pipe2(m_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        m_pipe[0] = m_pipe[1] = -1;
        return;
    }
    // Room for a few pieces at once; the default (64 KiB) works too, in more calls.
    (void)::fcntl(m_pipe[1], F_SETPIPE_SZ, 1024 * 1024);
    m_devNull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (m_devNull < 0)
        close();
}

SplicedWriter::~SplicedWriter()
{
    close();
}

void SplicedWriter::close()
{
    for (int &fd : {std::ref(m_pipe[0]), std::ref(m_pipe[1]), std::ref(m_devNull)}) {
        if (fd >= 0)
            ::close(fd);
        fd = -1;
    }
}

// Moves parts into the pipe from `part`/`offset` on until it is full or they are all in; returns
// the bytes moved, -1 on an error other than a full pipe.
qint64 SplicedWriter::fill(const std::vector<Part> &parts, size_t &part, qint64 &offset)
{
    qint64 moved = 0;
    while (part < parts.size()) {
        const Part &p = parts[part];
        const size_t want = size_t(p.size - offset);
        ssize_t n = 0;
        if (p.byReference) {
            iovec v{const_cast<char *>(p.data + offset), want};
            n = ::vmsplice(m_pipe[1], &v, 1, SPLICE_F_NONBLOCK);
        } else {
            n = ::write(m_pipe[1], p.data + offset, want);
        }
        if (n < 0)
            return errno == EAGAIN ? moved : -1;
        moved += n;
        offset += n;
        if (offset < p.size)
            break; // the pipe is full
        ++part;
        offset = 0;
    }
    return moved;
}

bool SplicedWriter::drop(qint64 bytes)
{
    while (bytes > 0) {
        const ssize_t n = ::splice(m_pipe[0], nullptr, m_devNull, nullptr, size_t(bytes), SPLICE_F_NONBLOCK);
        if (n <= 0)
            return false;
        bytes -= n;
    }
    return true;
}

namespace {

// splice() to a socket has no MSG_NOSIGNAL: a peer that vanished mid-write raises SIGPIPE, which
// kills a process that did not ignore it (the desktop app hosts its server in-process). Blocked
// on this thread for the call, a SIGPIPE it raised is taken back before it unblocks.
class SigpipeBlocked
{
public:
    SigpipeBlocked()
    {
        sigemptyset(&m_pipe);
        sigaddset(&m_pipe, SIGPIPE);
        sigset_t pending;
        m_wasPending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &m_pipe, &m_old);
    }
    ~SigpipeBlocked()
    {
        sigset_t pending;
        if (!m_wasPending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
            const timespec now{0, 0};
            (void)sigtimedwait(&m_pipe, nullptr, &now);
        }
        pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
    }
    SigpipeBlocked(const SigpipeBlocked &) = delete;
    SigpipeBlocked &operator=(const SigpipeBlocked &) = delete;

private:
    sigset_t m_pipe;
    sigset_t m_old;
    bool m_wasPending = false;
};

} // namespace

qint64 SplicedWriter::write(int socketFd, const std::vector<Part> &parts)
{
    if (!isValid())
        return 0;
    const SigpipeBlocked noSignal;
    if (!m_announced) {
        m_announced = true;
        qCDebug(lcSplice) << "sending pieces by reference on socket" << socketFd;
    }
    qint64 sent = 0;
    size_t part = 0;
    qint64 offset = 0;
    while (part < parts.size()) {
        const qint64 inPipe = fill(parts, part, offset);
        if (inPipe <= 0) {
            if (inPipe < 0) {
                qCWarning(lcSplice) << "vmsplice failed, sending by copy from now on:" << qt_error_string(errno);
                close();
            }
            break;
        }
        const ssize_t n = ::splice(m_pipe[0], nullptr, socketFd, nullptr, size_t(inPipe), SPLICE_F_NONBLOCK);
        const qint64 taken = qMax<ssize_t>(n, 0);
        sent += taken;
        if (taken < inPipe) { // the socket is full (or failed: the caller's next write meets that)
            if (!drop(inPipe - taken)) {
                qCWarning(lcSplice) << "could not empty the pipe, sending by copy from now on:" << qt_error_string(errno);
                close();
            }
            break;
        }
    }
    return sent;
}

#else

SplicedWriter::SplicedWriter() = default;
SplicedWriter::~SplicedWriter() = default;
void SplicedWriter::close() {}
qint64 SplicedWriter::fill(const std::vector<Part> &, size_t &, qint64 &) { return -1; }
bool SplicedWriter::drop(qint64) { return false; }
qint64 SplicedWriter::write(int, const std::vector<Part> &) { return 0; }

#endif

} // namespace surfing
