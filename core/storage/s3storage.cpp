#include "storage/s3storage.h"

#include "base/error.h"
#include "storage/s3transport.h"

#include <QEventLoop>

namespace surfing {

void checkObjectName(const QString &name)
{
    const QStringList segments = name.split(QLatin1Char('/'));
    bool bad = name.isEmpty() || name.size() > 1024 || name.contains(QChar(0))
        || name.contains(QLatin1Char('\\'));
    for (const QString &segment : segments)
        bad = bad || segment.isEmpty() || segment == QLatin1String(".")
            || segment == QLatin1String("..");
    if (bad) {
        QString shown = name.left(200);
        for (QChar &c : shown)
            c = c.isPrint() ? c : QChar(u'?'); // NUL and control characters would cut the message
        throw Error(QStringLiteral("'%1' is not a valid object name in a chunk directory").arg(shown));
    }
}

S3Storage::S3Storage(const S3Location &location, QObject *parent)
    : ChunkStorage(parent), m_location(location), m_transport(new S3Transport(location))
{
    m_thread.setObjectName(QStringLiteral("s3-io"));
    m_transport->moveToThread(&m_thread);
    m_thread.start();
}

S3Storage::~S3Storage()
{
    // Queued after every request already handed over, so those start and then fail with a
    // "closed" error in ~S3Transport: each caller hears back.
    QMetaObject::invokeMethod(m_transport, [transport = m_transport] { delete transport; },
                              Qt::BlockingQueuedConnection);
    m_thread.quit();
    m_thread.wait();
}

QString S3Storage::location() const
{
    return m_location.toString();
}

void S3Storage::read(const QString &name, ByteRange range, ReadCallback done)
{
    try {
        checkObjectName(name);
    } catch (const Error &error) {
        return done(ReadResult::failure(error.message()));
    }
    if (range.offset < 0 || range.length < -1)
        return done(ReadResult::failure(QStringLiteral("invalid byte range (offset %1, length %2) for '%3'")
                                            .arg(range.offset).arg(range.length).arg(name)));
    if (range.length == 0)
        return done(ReadResult{});
    QMetaObject::invokeMethod(m_transport, [transport = m_transport, name, range, done = std::move(done)] {
        transport->get(name, range, done);
    }, Qt::QueuedConnection);
}

void S3Storage::checkHealth(HealthCallback done)
{
    QMetaObject::invokeMethod(m_transport, [transport = m_transport, done = std::move(done)] {
        transport->head(QStringLiteral("chunk_info.json"), done);
    }, Qt::QueuedConnection);
}

void S3Storage::write(const QString &name, const QByteArray &data, WriteCallback done)
{
    try {
        checkObjectName(name);
    } catch (const Error &error) {
        return done(error.message());
    }
    QMetaObject::invokeMethod(m_transport, [transport = m_transport, name, data, done = std::move(done)] {
        transport->put(name, data, done);
    }, Qt::QueuedConnection);
}

QString writeAndWait(S3Storage &storage, const QString &name, const QByteArray &data)
{
    QEventLoop loop;
    QString error;
    storage.write(name, data, WriteCallback(&loop, [&](const QString &e) {
        error = e;
        loop.quit();
    }));
    loop.exec(); // the callback is queued here: it runs inside exec()
    return error;
}

void S3Storage::setProxy(const QNetworkProxy &proxy)
{
    QMetaObject::invokeMethod(m_transport, [transport = m_transport, proxy] {
        transport->setProxy(proxy);
    }, Qt::BlockingQueuedConnection);
}

} // namespace surfing
