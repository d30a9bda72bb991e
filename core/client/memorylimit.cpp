#include "client/memorylimit.h"

#include "base/bytesize.h"

#include <QFile>
#include <QLocale>
#include <sys/resource.h>
#include <unistd.h>

namespace surfing {
namespace {

// A cgroup's limit ("max" or bytes) from cgroup v2, else v1; -1 when there is none.
qint64 cgroupLimit()
{
    for (const char *path : {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
        QFile file(QString::fromLatin1(path));
        if (!file.open(QIODevice::ReadOnly))
            continue;
        bool ok = false;
        const qint64 bytes = file.readLine(64).trimmed().toLongLong(&ok);
        if (ok && bytes > 0)
            return bytes;
    }
    return -1;
}

qint64 readSystemMemory()
{
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const long pageSize = ::sysconf(_SC_PAGE_SIZE);
    qint64 bytes = pages > 0 && pageSize > 0 ? qint64(pages) * pageSize : std::numeric_limits<qint64>::max();
    const qint64 cgroup = cgroupLimit();
    if (cgroup > 0)
        bytes = qMin(bytes, cgroup);
    rlimit limit{};
    if (::getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
        bytes = qMin(bytes, qint64(qMin<rlim_t>(limit.rlim_cur, rlim_t(std::numeric_limits<qint64>::max()))));
    return bytes;
}

} // namespace

qint64 systemMemoryBytes()
{
    static const qint64 bytes = readSystemMemory();
    return bytes;
}

qint64 chunkMemoryBytes(const ManifestChunk &chunk, bool stored)
{
    if (stored || chunk.codec == ChunkCodec::None)
        return chunk.storedBytes;
    return chunk.storedBytes + 2 * chunk.rawBytes; // both are at most 2^40: no overflow
}

QString memorySize(qint64 bytes)
{
    return formatByteSize(bytes);
}

} // namespace surfing
