#include "storage/s3storage.h"

#include "base/error.h"
#include "storage/s3transport.h"

#include <QPromise>

namespace surfing {
namespace {

template <typename T>
QFuture<T> failed(const QString &message)
{
    QPromise<T> promise;
    promise.start();
    promise.setException(std::make_exception_ptr(Error(message)));
    promise.finish();
    return promise.future();
}

} // namespace

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
    connect(&m_thread, &QThread::finished, m_transport, &QObject::deleteLater);
    m_thread.start();
}

S3Storage::~S3Storage()
{
    m_thread.quit();
    m_thread.wait();
}

QString S3Storage::location() const
{
    return m_location.toString();
}

QFuture<QByteArray> S3Storage::read(const QString &name, ByteRange range)
{
    try {
        checkObjectName(name);
    } catch (const Error &error) {
        return failed<QByteArray>(error.message());
    }
    if (range.offset < 0 || range.length < -1)
        return failed<QByteArray>(QStringLiteral("invalid byte range (offset %1, length %2) for "
                                                 "'%3'").arg(range.offset).arg(range.length)
                                      .arg(name));
    if (range.length == 0)
        return QtFuture::makeReadyFuture(QByteArray());
    auto promise = std::make_shared<QPromise<QByteArray>>();
    promise->start();
    QMetaObject::invokeMethod(m_transport, [transport = m_transport, name, range, promise] {
        transport->get(name, range, promise);
    }, Qt::QueuedConnection);
    return promise->future();
}

QFuture<bool> S3Storage::checkHealth()
{
    auto promise = std::make_shared<QPromise<bool>>();
    promise->start();
    QMetaObject::invokeMethod(m_transport, [transport = m_transport, promise] {
        transport->head(QStringLiteral("chunk_info.json"), promise);
    }, Qt::QueuedConnection);
    return promise->future();
}

QFuture<void> S3Storage::write(const QString &name, const QByteArray &data)
{
    try {
        checkObjectName(name);
    } catch (const Error &error) {
        return failed<void>(error.message());
    }
    auto promise = std::make_shared<QPromise<void>>();
    promise->start();
    QMetaObject::invokeMethod(m_transport, [transport = m_transport, name, data, promise] {
        transport->put(name, data, promise);
    }, Qt::QueuedConnection);
    return promise->future();
}

void S3Storage::setProxy(const QNetworkProxy &proxy)
{
    QMetaObject::invokeMethod(m_transport, [transport = m_transport, proxy] {
        transport->setProxy(proxy);
    }, Qt::BlockingQueuedConnection);
}

} // namespace surfing
