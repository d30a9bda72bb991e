#include "benchsupport.h"

#include "base/sha256.h"
#include "format/chunkmanifest.h"
#include "format/safetensors.h"
#include "server/splicedwriter.h"

#include <QCoreApplication>
#include <QDir>
#include <QEventLoop>
#include <QFile>
#include <QRandomGenerator>
#include <QtEndian>

#include <arpa/inet.h>
#include <limits>
#include <sched.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

namespace surfing::bench {

QStringList makeChunkDir(const QString &dir, const QString &modelName, const QVector<qint64> &sizes)
{
    QDir().mkpath(dir);
    ChunkManifest m;
    m.modelName = modelName;
    m.modelType = QStringLiteral("llama");
    m.family = ModelFamily::Llama;
    m.numLayers = int(sizes.size());
    m.createdBy = modelName;
    QStringList files;
    for (int i = 0; i < sizes.size(); ++i) {
        QByteArray data(sizes[i] - 128, Qt::Uninitialized); // leaves room for the header
        QRandomGenerator rng(quint32(i + 1));
        rng.fillRange(reinterpret_cast<quint32 *>(data.data()), data.size() / 4);
        const QByteArray file = serializeSafetensors({TensorView{QStringLiteral("w"), Dtype::U8, {data.size()}, data}});
        ManifestChunk c;
        c.name = QStringLiteral("layer_%1").arg(i);
        c.kind = QStringLiteral("layer");
        c.index = i;
        c.file = c.name + QStringLiteral(".safetensors");
        c.storedBytes = c.rawBytes = file.size();
        c.sha256 = Sha256::hashHex(file);
        c.tensors = {ManifestTensor{QStringLiteral("w"), Dtype::U8, {data.size()}, QStringLiteral("w")}};
        QFile f(dir + QLatin1Char('/') + c.file);
        if (!f.open(QIODevice::WriteOnly) || f.write(file) != file.size())
            qFatal("cannot write %s", qPrintable(f.fileName()));
        m.chunks.append(c);
        files << f.fileName();
    }
    QFile manifest(dir + QStringLiteral("/chunk_info.json"));
    if (!manifest.open(QIODevice::WriteOnly) || manifest.write(m.toJson()) <= 0)
        qFatal("cannot write the manifest");
    return files;
}

namespace {

void setOption(int fd, int level, int name, int value)
{
    if (::setsockopt(fd, level, name, &value, sizeof value) != 0)
        qFatal("setsockopt: %s", std::strerror(errno));
}

sockaddr_in loopback(quint16 port)
{
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

// Answers requests on one connection until the peer closes it. The connection opens with a u32
// RawSending; then each request is a u32 chunk index.
void serveConnection(int fd, const QVector<QByteArray> *chunks)
{
    setOption(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    quint32 le = 0;
    if (::recv(fd, &le, sizeof le, MSG_WAITALL) != ssize_t(sizeof le)) {
        ::close(fd);
        return;
    }
    const auto sending = RawSending(qFromLittleEndian(le));
    if (sending == RawSending::OneSend)
        setOption(fd, SOL_SOCKET, SO_SNDBUF, 4 << 20);
    const qint64 most = sending == RawSending::OneSend ? std::numeric_limits<qint64>::max() : qint64(1) << 20;
    SplicedWriter splicer; // the chunks are read-only and live as long as the process
    if (sending == RawSending::Spliced && !splicer.isValid())
        qFatal("the raw server cannot send by reference here");
    while (::recv(fd, &le, sizeof le, MSG_WAITALL) == ssize_t(sizeof le)) {
        const QByteArray &chunk = chunks->at(int(qFromLittleEndian(le)) % chunks->size());
        const char *p = chunk.constData();
        qint64 left = chunk.size();
        while (left > 0) {
            ssize_t n = 0;
            if (sending == RawSending::Spliced) {
                n = ssize_t(splicer.write(fd, {{p, qMin(left, most), true}}));
                if (n == 0 && splicer.isValid()) {
                    pollfd writable{fd, POLLOUT, 0};
                    if (::poll(&writable, 1, -1) < 0 || (writable.revents & (POLLERR | POLLHUP)))
                        break;
                    continue;
                }
            } else {
                n = ::send(fd, p, size_t(qMin(left, most)), MSG_NOSIGNAL);
            }
            if (n <= 0 && errno != EINTR)
                break;
            if (n > 0) {
                p += n;
                left -= n;
            }
        }
        if (left > 0)
            break;
    }
    ::close(fd);
}

} // namespace

int runRawServer(const QStringList &files)
{
    static QVector<QByteArray> chunks; // lives as long as the serving threads
    for (const QString &path : files) {
        QFile f(path);
        if (!f.open(QIODevice::ReadOnly))
            return 1;
        chunks.append(f.readAll());
    }
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    setOption(listener, SOL_SOCKET, SO_REUSEADDR, 1);
    sockaddr_in a = loopback(0);
    socklen_t len = sizeof a;
    if (::bind(listener, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || ::listen(listener, 1024) != 0
        || ::getsockname(listener, reinterpret_cast<sockaddr *>(&a), &len) != 0)
        return 1;
    std::printf("%d\n", ntohs(a.sin_port));
    std::fflush(stdout);
    for (;;) {
        const int fd = ::accept(listener, nullptr, nullptr);
        if (fd >= 0)
            std::thread(serveConnection, fd, &chunks).detach();
    }
}

bool pinToCpu(qint64 pid, int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    const QDir tasks(QStringLiteral("/proc/%1/task").arg(pid == 0 ? ::getpid() : pid));
    bool pinned = false;
    for (const QString &tid : tasks.entryList(QDir::Dirs | QDir::NoDotAndDotDot))
        pinned |= ::sched_setaffinity(pid_t(tid.toLongLong()), sizeof set, &set) == 0;
    if (!pinned)
        qWarning("cannot pin process %lld to CPU %d: %s", pid, cpu, std::strerror(errno));
    return pinned;
}

QUrl startWeightServer(QProcess &process, const QString &cli, const QString &dir, const QString &cacheMb)
{
    process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    process.start(cli, {QStringLiteral("serve"), dir, QStringLiteral("--port"), QStringLiteral("0"), QStringLiteral("--cache-mb"), cacheMb});
    const QUrl url(QString::fromUtf8(readLine(process)));
    if (!url.isValid())
        qFatal("%s serve did not start", qPrintable(cli));
    return url;
}

void waitUntil(const std::function<bool()> &done)
{
    QEventLoop loop;
    while (!done())
        loop.processEvents(QEventLoop::WaitForMoreEvents);
}

quint16 startRawServer(QProcess &process, const QStringList &files)
{
    process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    process.start(QCoreApplication::applicationFilePath(), QStringList{QStringLiteral("--raw-server")} + files);
    const quint16 port = quint16(readLine(process).toUInt());
    if (port == 0)
        qFatal("the raw TCP server did not start");
    return port;
}

RawConnection::RawConnection(quint16 port, RawSending sending) : m_fd(::socket(AF_INET, SOCK_STREAM, 0))
{
    const sockaddr_in a = loopback(port);
    if (m_fd < 0 || ::connect(m_fd, reinterpret_cast<const sockaddr *>(&a), sizeof a) != 0)
        qFatal("cannot connect to the raw server: %s", std::strerror(errno));
    setOption(m_fd, IPPROTO_TCP, TCP_NODELAY, 1);
    const quint32 le = qToLittleEndian(quint32(sending));
    if (::send(m_fd, &le, sizeof le, MSG_NOSIGNAL) != ssize_t(sizeof le))
        qFatal("cannot talk to the raw server: %s", std::strerror(errno));
}

void RawConnection::setReadLowWater(int bytes)
{
    m_lowWater = bytes;
    setOption(m_fd, SOL_SOCKET, SO_RCVLOWAT, bytes);
}

RawConnection::~RawConnection()
{
    ::close(m_fd);
}

void RawConnection::fetch(quint32 index, qint64 size, char *into)
{
    const quint32 le = qToLittleEndian(index);
    if (::send(m_fd, &le, sizeof le, MSG_NOSIGNAL) != ssize_t(sizeof le))
        qFatal("raw request failed: %s", std::strerror(errno));
    qint64 got = 0;
    bool lowered = false;
    while (got < size) {
        // With SO_RCVLOWAT the kernel can stall: it clamps the window to the low-water mark, and a
        // queue that ends a little short of it wakes nobody. A reader that waited 50 ms for
        // nothing takes what is there for the rest of this chunk.
        if (m_lowWater > 1 && !lowered) {
            pollfd p{m_fd, POLLIN, 0};
            if (::poll(&p, 1, 50) == 0) {
                setOption(m_fd, SOL_SOCKET, SO_RCVLOWAT, 1);
                lowered = true;
            }
        }
        const qint64 want = m_readSlice > 0 ? qMin(m_readSlice, size - got) : size - got;
        const ssize_t n = ::recv(m_fd, into + got, size_t(want), 0);
        if (n == 0 || (n < 0 && errno != EINTR))
            qFatal("raw transfer failed after %lld of %lld bytes", got, size);
        if (n > 0)
            got += n;
    }
    if (lowered)
        setOption(m_fd, SOL_SOCKET, SO_RCVLOWAT, m_lowWater);
}

double percentile(QVector<double> v, double q)
{
    std::sort(v.begin(), v.end());
    return v.isEmpty() ? 0 : v[qMin(v.size() - 1, int(q * (v.size() - 1) + 0.5))];
}

QByteArray readLine(QProcess &process)
{
    QByteArray line;
    while (!line.contains('\n') && process.waitForReadyRead(120000))
        line += process.readAllStandardOutput();
    return line.trimmed();
}

} // namespace surfing::bench
