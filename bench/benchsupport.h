// Shared by the transfer benchmarks: the chunk directory they serve, and the raw TCP baseline
// (a plain POSIX server and client) that the weight server is compared with.
//
// The baseline is meant to be the best plain transfer of the same bytes, so a ratio against it
// means something: the server holds every chunk in memory, serves each connection on its own
// thread and answers a 4-byte little-endian chunk index with one blocking send() of the whole
// chunk (TCP_NODELAY, SO_SNDBUF 4 MiB); the client recv()s straight into a preallocated buffer.
// No Qt event loop, no user-space copy on either side.
#pragma once

#include <QByteArray>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QUrl>
#include <QVector>
#include <functional>

namespace surfing::bench {

// Writes a chunk directory (chunk_info.json + layer_N.safetensors) with one chunk per entry of
// `sizes` (file sizes in bytes), filled with random, incompressible bytes. Returns the files.
QStringList makeChunkDir(const QString &dir, const QString &modelName, const QVector<qint64> &sizes);

// The raw server's main: loads `files`, prints its port on stdout, serves until killed.
int runRawServer(const QStringList &files);
// Starts this program again with --raw-server FILES; returns the port it listens on.
quint16 startRawServer(QProcess &process, const QStringList &files);

// How the raw server sends on a connection. Each is plain TCP from memory; which one is fastest
// depends on the machine, so the transfer bound (bench_linkrate) takes the best of them.
enum class RawSending {
    OneSend,    // one blocking send() per chunk, SO_SNDBUF fixed at 4 MiB
    MiBPieces,  // send() of 1 MiB at a time, send buffer left to the kernel's autotuning
    Spliced,    // 1 MiB at a time by reference, no copy (SplicedWriter, as surfing-cli serve sends)
};

// One blocking TCP connection to the raw server.
class RawConnection
{
public:
    explicit RawConnection(quint16 port, RawSending sending = RawSending::OneSend);
    ~RawConnection();
    RawConnection(const RawConnection &) = delete;
    RawConnection &operator=(const RawConnection &) = delete;

    // Requests chunk `index` and receives its `size` bytes into `into` (at least `size` long).
    void fetch(quint32 index, qint64 size, char *into);
    // SO_RCVLOWAT: recv() returns only once this many bytes are there (or the rest of the chunk),
    // so a large transfer takes fewer wake-ups (what WebSocketClient does for a piece's payload).
    void setReadLowWater(int bytes);
    // At most this many bytes per recv() (0: as many as the chunk still needs). On loopback,
    // 64-128 KiB reads let the sender's packets reach the socket between reads instead of piling
    // up in its backlog while one long read holds the socket: up to twice the rate here.
    void setReadSlice(qint64 bytes) { m_readSlice = bytes; }

private:
    int m_fd = -1;
    int m_lowWater = 1;
    qint64 m_readSlice = 0;
};

// The q-quantile (0..1) of `v`, nearest rank; 0 for an empty vector.
double percentile(QVector<double> v, double q);

// Pins process `pid` (0: this process) and its threads that exist now to CPU `cpu`. The
// transfer benchmarks put the client on one core and the servers on another: left to the
// scheduler, the same run swings by a factor of two depending on whether client and server
// happen to share a core. False (with a warning) when the machine has no such CPU.
bool pinToCpu(qint64 pid, int cpu);

// Runs `surfing-cli serve DIR --port 0 --cache-mb CACHE_MB` in `process`; returns its URL.
QUrl startWeightServer(QProcess &process, const QString &cli, const QString &dir, const QString &cacheMb);

// Runs this thread's event loop until `done()`.
void waitUntil(const std::function<bool()> &done);

// The first line `process` prints on stdout, trimmed.
QByteArray readLine(QProcess &process);

} // namespace surfing::bench
