#include "storage/localstorage.h"

#include "base/error.h"
#include "base/largebuffer.h"
#include "format/chunkmanifest.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QtConcurrent>

namespace surfing {

namespace {

QByteArray readObject(const QString &directory, const QString &name, ByteRange range)
{
    // Callers pass manifest names only; this check keeps a bug elsewhere from reading outside
    // the directory.
    if (!isSafeName(name))
        throw Error(QStringLiteral("%1: refusing to read '%2', which is not a plain file name").arg(directory, name.left(80)));
    const QString path = directory + QLatin1Char('/') + name;
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        throw Error(QStringLiteral("%1: cannot read: %2").arg(path, file.errorString()));
    const qint64 size = file.size();
    if (range.offset < 0 || range.offset > size)
        throw Error(QStringLiteral("%1: range offset %2 is outside the %3-byte file").arg(path).arg(range.offset).arg(size));
    const qint64 length = range.length < 0 ? size - range.offset : qMin(range.length, size - range.offset);
    if (!file.seek(range.offset))
        throw Error(QStringLiteral("%1: cannot seek to %2: %3").arg(path).arg(range.offset).arg(file.errorString()));
    QByteArray bytes = allocateLargeBuffer(length);
    qint64 done = 0;
    while (done < length) {
        const qint64 n = file.read(bytes.data() + done, length - done);
        if (n <= 0)
            throw Error(QStringLiteral("%1: read failed after %2 of %3 bytes: %4")
                            .arg(path).arg(done).arg(length).arg(file.errorString()));
        done += n;
    }
    return bytes;
}

} // namespace

LocalStorage::LocalStorage(const QString &directory, int readThreads, QObject *parent)
    : ChunkStorage(parent), m_directory(QDir(directory).absolutePath())
{
    if (!QFileInfo(m_directory).isDir())
        throw Error(QStringLiteral("%1: no such directory").arg(directory));
    m_pool.setMaxThreadCount(qMax(1, readThreads));
}

LocalStorage::~LocalStorage()
{
    m_pool.waitForDone();
}

QString LocalStorage::location() const
{
    return m_directory;
}

void LocalStorage::read(const QString &name, ByteRange range, ReadCallback done)
{
    // QtConcurrent::run rather than QThreadPool::start: the same pool, and a hand-over that
    // tests/sanitizers/tsan.supp knows (Qt's queue is invisible to ThreadSanitizer).
    (void)QtConcurrent::run(&m_pool, [dir = m_directory, name, range, done = std::move(done)] {
        try {
            done(ReadResult{readObject(dir, name, range), {}});
        } catch (const std::exception &e) {
            done(ReadResult::failure(QString::fromUtf8(e.what())));
        }
    });
}

void LocalStorage::checkHealth(HealthCallback done)
{
    (void)QtConcurrent::run(&m_pool, [dir = m_directory, done = std::move(done)] {
        const bool readable = QFileInfo(dir + QLatin1Char('/') + QLatin1String(kManifestFileName)).isReadable();
        done(readable ? HealthResult{true, {}} : HealthResult{false, QStringLiteral("manifest not readable")});
    });
}

} // namespace surfing
