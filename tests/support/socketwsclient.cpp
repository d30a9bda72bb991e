#include "socketwsclient.h"

#include "serveprocess.h"
#include "testsupport.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QRandomGenerator>
#include <QtEndian>

#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace surfing::test {

int SocketFrame::closeCode() const
{
    return payload.size() >= 2 ? qFromBigEndian<quint16>(payload.constData()) : -1;
}

SocketWsClient::~SocketWsClient()
{
    close();
}

void SocketWsClient::close()
{
    if (m_fd >= 0)
        ::close(m_fd);
    m_fd = -1;
}

bool SocketWsClient::connectTcp(const QUrl &url, int receiveBufferBytes)
{
    close();
    m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (m_fd < 0)
        return false;
    if (receiveBufferBytes > 0)
        ::setsockopt(m_fd, SOL_SOCKET, SO_RCVBUF, &receiveBufferBytes, sizeof receiveBufferBytes);
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_port = htons(quint16(url.port()));
    ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    if (::connect(m_fd, reinterpret_cast<const sockaddr *>(&address), sizeof address) != 0) {
        close();
        return false;
    }
    ::fcntl(m_fd, F_SETFL, ::fcntl(m_fd, F_GETFL) | O_NONBLOCK);
    return true;
}

bool SocketWsClient::open(const QUrl &url, int receiveBufferBytes)
{
    if (!connectTcp(url, receiveBufferBytes))
        return false;
    const QByteArray key = QByteArray::number(QRandomGenerator::global()->generate64()).toBase64();
    const QByteArray request = "GET / HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(url.port())
                               + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key
                               + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    if (send(request) != request.size())
        return false;
    QByteArray answer;
    while (!answer.contains("\r\n\r\n")) {
        char c;
        if (!readExactly(&c, 1, kWaitMs))
            return false;
        answer += c;
    }
    return answer.startsWith("HTTP/1.1 101");
}

bool SocketWsClient::hello()
{
    send(frame(1, R"({"type":"hello","protocol":1,"client":"socket test client"})"));
    const std::optional<SocketFrame> welcome = readFrame(kWaitMs);
    return welcome && welcome->opcode == 1 && welcome->payload.contains(R"("type":"welcome")");
}

QByteArray SocketWsClient::frame(int opcode, const QByteArray &payload, bool masked)
{
    QByteArray out;
    out += char(0x80 | opcode);
    const char maskBit = masked ? char(0x80) : char(0);
    if (payload.size() < 126) {
        out += char(maskBit | char(payload.size()));
    } else if (payload.size() < 65536) {
        out += char(maskBit | 126);
        char length[2];
        qToBigEndian<quint16>(quint16(payload.size()), length);
        out.append(length, 2);
    } else {
        out += char(maskBit | 127);
        char length[8];
        qToBigEndian<quint64>(quint64(payload.size()), length);
        out.append(length, 8);
    }
    if (!masked)
        return out + payload;
    char mask[4];
    qToBigEndian<quint32>(QRandomGenerator::global()->generate(), mask);
    out.append(mask, 4);
    for (qsizetype i = 0; i < payload.size(); ++i)
        out += char(payload[i] ^ mask[i % 4]);
    return out;
}

qint64 SocketWsClient::send(const QByteArray &bytes, int stuckMs)
{
    qint64 sent = 0;
    while (sent < bytes.size()) {
        const ssize_t n = ::send(m_fd, bytes.constData() + sent, size_t(bytes.size() - sent), MSG_NOSIGNAL);
        if (n > 0) {
            sent += n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        pollfd p = {m_fd, POLLOUT, 0};
        if (::poll(&p, 1, stuckMs) <= 0)
            break; // the server takes nothing more
    }
    return sent;
}

bool SocketWsClient::readExactly(char *into, qint64 size, int waitMs)
{
    QElapsedTimer clock;
    clock.start();
    while (size > 0) {
        if (!m_buffered.isEmpty()) {
            const qint64 n = qMin<qint64>(size, m_buffered.size());
            memcpy(into, m_buffered.constData(), size_t(n));
            m_buffered.remove(0, n);
            into += n;
            size -= n;
            continue;
        }
        const ssize_t n = ::recv(m_fd, into, size_t(size), 0);
        if (n > 0) {
            into += n;
            size -= n;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return false;
        const qint64 left = waitMs - clock.elapsed();
        pollfd p = {m_fd, POLLIN, 0};
        if (left <= 0 || ::poll(&p, 1, int(left)) <= 0)
            return false;
    }
    return true;
}

std::optional<SocketFrame> SocketWsClient::readFrame(int waitMs)
{
    char head[2];
    if (!readExactly(head, 2, waitMs))
        return std::nullopt;
    quint64 length = quint8(head[1]) & 0x7f;
    if (length == 126) {
        char ext[2];
        if (!readExactly(ext, 2, waitMs))
            return std::nullopt;
        length = qFromBigEndian<quint16>(ext);
    } else if (length == 127) {
        char ext[8];
        if (!readExactly(ext, 8, waitMs))
            return std::nullopt;
        length = qFromBigEndian<quint64>(ext);
    }
    SocketFrame f;
    f.opcode = quint8(head[0]) & 0x0f;
    f.payload.resize(qsizetype(length));
    if (length > 0 && !readExactly(f.payload.data(), qint64(length), waitMs))
        return std::nullopt;
    return f;
}

bool SocketWsClient::peerClosed(int waitMs)
{
    if (m_fd < 0)
        return true;
    pollfd p = {m_fd, POLLRDHUP, 0};
    if (::poll(&p, 1, waitMs) <= 0)
        return false;
    return p.revents & (POLLRDHUP | POLLHUP | POLLERR);
}

qint64 procStatusBytes(qint64 pid, const char *field)
{
    const qint64 kb = procStatusValue(QStringLiteral("/proc/%1/status").arg(pid), field); // "VmRSS:	  123456 kB"
    return kb < 0 ? -1 : kb * 1024;
}

double procCpuSeconds(qint64 pid)
{
    QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!stat.open(QIODevice::ReadOnly))
        return -1;
    const QByteArray text = stat.readAll();
    // Fields after the command, which is in parentheses and may hold spaces.
    const QList<QByteArray> fields = text.mid(text.lastIndexOf(')') + 2).split(' ');
    if (fields.size() < 13)
        return -1;
    const double ticks = double(fields[11].toLongLong() + fields[12].toLongLong()); // utime, stime
    return ticks / double(::sysconf(_SC_CLK_TCK));
}

int procOpenFiles(qint64 pid)
{
    const QDir fds(QStringLiteral("/proc/%1/fd").arg(pid));
    return fds.exists() ? int(fds.entryList(QDir::AllEntries | QDir::System | QDir::NoDotAndDotDot).size()) : -1;
}

} // namespace surfing::test
