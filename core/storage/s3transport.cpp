#include "storage/s3transport.h"

#include "base/error.h"
#include "base/largebuffer.h"
#include "protocol/transfermemory.h"
#include "storage/awssigv4.h"

#include <QDateTime>
#include <QLoggingCategory>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QTimer>
#include <QXmlStreamReader>

#include <cstring>

namespace surfing {

Q_LOGGING_CATEGORY(lcS3, "surfing.storage.s3")

namespace {

const char kTimedOut[] = "surfingTimedOut";
constexpr int kMaxErrorBody = 64 * 1024;

struct S3ErrorBody {
    QString code;
    QString message;
};

S3ErrorBody parseErrorBody(const QByteArray &body)
{
    S3ErrorBody result;
    QXmlStreamReader xml(body.left(kMaxErrorBody));
    while (!xml.atEnd() && xml.readNext() != QXmlStreamReader::Invalid) {
        if (!xml.isStartElement())
            continue;
        if (xml.name() == QLatin1String("Code"))
            result.code = xml.readElementText().left(200);
        else if (xml.name() == QLatin1String("Message"))
            result.message = xml.readElementText().left(500);
    }
    return result;
}

int httpStatus(QNetworkReply *reply)
{
    return reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
}

QByteArray rangeHeader(ByteRange range)
{
    QByteArray value = "bytes=" + QByteArray::number(range.offset) + '-';
    if (range.length >= 0)
        value += QByteArray::number(range.offset + range.length - 1);
    return value;
}

bool isRanged(ByteRange range)
{
    return range.offset != 0 || range.length >= 0;
}

QByteArray hostHeader(const QUrl &url)
{
    QByteArray host = QUrl::toAce(url.host());
    if (url.port() != -1)
        host += ':' + QByteArray::number(url.port());
    return host;
}

bool isTransient(QNetworkReply::NetworkError error)
{
    return error == QNetworkReply::RemoteHostClosedError
        || error == QNetworkReply::TemporaryNetworkFailureError;
}

// Checks a 200/206 answer against the range asked for and cuts it out when the server ignored
// the Range header. Returns an error message or an empty string.
QString takeRange(QNetworkReply *reply, ByteRange range, QByteArray &data, const QString &object)
{
    if (!isRanged(range))
        return {};
    if (httpStatus(reply) == 200) {
        data = data.mid(range.offset, range.length);
    } else {
        static const QRegularExpression contentRange(QStringLiteral("^bytes (\\d+)-(\\d+)/"));
        const auto match = contentRange.match(QString::fromLatin1(reply->rawHeader("Content-Range")));
        const qint64 first = match.captured(1).toLongLong();
        const qint64 last = match.captured(2).toLongLong();
        if (!match.hasMatch() || first != range.offset || last - first + 1 != data.size())
            return QStringLiteral("S3 answered a range request for %1 with the wrong range ('%2', "
                                  "%3 bytes)")
                .arg(object, QString::fromLatin1(reply->rawHeader("Content-Range").left(100)))
                .arg(data.size());
        // Some S3 look-alikes answer "bytes=0-0" with the rest of the object.
        if (range.length >= 0 && data.size() > range.length)
            data.truncate(range.length);
    }
    if (range.length >= 0 && data.size() != range.length)
        return QStringLiteral("%1 is shorter than the requested range (%2 bytes from offset %3, "
                              "got %4)").arg(object).arg(range.length).arg(range.offset)
            .arg(data.size());
    return {};
}

// For the unauthenticated /healthz: what went wrong, without the endpoint, bucket or key.
QString healthReason(int status)
{
    if (status < 0)
        return QStringLiteral("timed out");
    if (status == 0)
        return QStringLiteral("unreachable");
    if (status == 401 || status == 403)
        return QStringLiteral("access denied");
    if (status == 404)
        return QStringLiteral("manifest not found");
    return QStringLiteral("HTTP %1").arg(status);
}

// A response body grows as it arrives (reallocated in place on the heap, where freeing it would
// hand its pages to the next allocation); a chunk the server sends by reference must be a block
// of its own (server/splicedwriter.h). One copy per read from the bucket, not per send.
QByteArray freshCopy(const QByteArray &data)
{
    if (data.size() < protocol::ownMappingMinBytes())
        return data;
    QByteArray copy = allocateLargeBuffer(data.size());
    std::memcpy(copy.data(), data.constData(), size_t(data.size()));
    return copy;
}

} // namespace

S3Transport::S3Transport(const S3Location &location, QObject *parent)
    : QObject(parent), m_location(location), m_network(new QNetworkAccessManager(this))
{
    // A redirect would need a new signature; S3 redirects mean "wrong region", said below.
    m_network->setRedirectPolicy(QNetworkRequest::ManualRedirectPolicy);
}

S3Transport::~S3Transport()
{
    const auto pending = m_inFlight;
    m_inFlight.clear();
    for (const auto &operation : pending)
        operation->fail(QStringLiteral("S3 storage %1 closed while reading '%2'")
                            .arg(m_location.toString(), operation->name), 0);
}

void S3Transport::setProxy(const QNetworkProxy &proxy)
{
    m_network->setProxy(proxy);
}

void S3Transport::get(const QString &name, ByteRange range, const ReadCallback &done)
{
    auto operation = std::make_shared<Operation>();
    operation->method = "GET";
    operation->name = name;
    operation->range = range;
    const QString object = QStringLiteral("'%1' in %2").arg(name, m_location.toString());
    operation->succeed = [done, range, object](QNetworkReply *reply, const QByteArray &body) {
        QByteArray data = body;
        if (const QString problem = takeRange(reply, range, data, object); !problem.isEmpty())
            return done(ReadResult::failure(problem));
        qCDebug(lcS3) << "read" << object << data.size() << "bytes";
        done(ReadResult{freshCopy(data), {}});
    };
    operation->fail = [done](const QString &message, int) { done(ReadResult::failure(message)); };
    start(operation);
}

void S3Transport::head(const QString &name, const HealthCallback &done)
{
    auto operation = std::make_shared<Operation>();
    operation->method = "HEAD";
    operation->name = name;
    operation->succeed = [done](QNetworkReply *, const QByteArray &) { done(HealthResult{true, {}}); };
    operation->fail = [done](const QString &message, int status) {
        qCWarning(lcS3).noquote() << "health check failed:" << message;
        done(HealthResult{false, healthReason(status)});
    };
    start(operation);
}

void S3Transport::put(const QString &name, const QByteArray &data, const Callback<QString> &done)
{
    auto operation = std::make_shared<Operation>();
    operation->method = "PUT";
    operation->name = name;
    operation->body = data;
    operation->succeed = [done](QNetworkReply *, const QByteArray &) { done(QString()); };
    operation->fail = [done](const QString &message, int) { done(message); };
    start(operation);
}

void S3Transport::start(const OperationPtr &operation)
{
    m_inFlight.append(operation);
    send(operation);
}

void S3Transport::send(const OperationPtr &operation)
{
    const QUrl url = m_location.objectUrl(operation->name);
    QNetworkRequest request(url);
    sigv4::Request toSign;
    toSign.method = operation->method;
    toSign.encodedPath = url.path(QUrl::FullyEncoded).toLatin1();
    toSign.headers.append({"Host", hostHeader(url)});
    if (isRanged(operation->range))
        toSign.headers.append({"Range", rangeHeader(operation->range)});
    toSign.payloadHash = sigv4::sha256Hex(operation->body);
    if (!m_location.credentials.accessKeyId.isEmpty()) {
        const QByteArray authorization = sigv4::sign(
            toSign, m_location.credentials,
            sigv4::Scope{m_location.region, QStringLiteral("s3")},
            QDateTime::currentDateTimeUtc());
        request.setRawHeader("Authorization", authorization);
    }
    for (const auto &[name, value] : toSign.headers)
        request.setRawHeader(name, value);
    if (operation->method == "PUT")
        request.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/octet-stream"));

    // HEAD through head(): as a custom verb Qt expects the body its Content-Length announces,
    // and a probe on a kept-alive connection waited for it until the timeout.
    QNetworkReply *reply = operation->method == "PUT"    ? m_network->put(request, operation->body)
                           : operation->method == "HEAD" ? m_network->head(request)
                                                         : m_network->sendCustomRequest(request, operation->method);
    auto *timer = new QTimer(reply);
    timer->setSingleShot(true);
    timer->setInterval(m_location.timeoutMs);
    connect(timer, &QTimer::timeout, reply, [reply] {
        reply->setProperty(kTimedOut, true);
        reply->abort();
    });
    auto restart = [timer] { timer->start(); };
    connect(reply, &QNetworkReply::downloadProgress, timer, restart);
    connect(reply, &QNetworkReply::uploadProgress, timer, restart);
    timer->start();
    connect(reply, &QNetworkReply::finished, this, [this, operation, reply] {
        reply->deleteLater();
        finish(operation, reply, reply->property(kTimedOut).toBool());
    });
}

void S3Transport::finish(const OperationPtr &operation, QNetworkReply *reply, bool timedOut)
{
    if (!m_inFlight.contains(operation))
        return;
    const int status = httpStatus(reply);
    const QByteArray body = reply->readAll();
    if (timedOut) {
        complete(operation);
        operation->fail(QStringLiteral("S3 request for '%1' in %2 timed out: no data for %3 s "
                                       "from %4")
                            .arg(operation->name, m_location.toString())
                            .arg(m_location.timeoutMs / 1000.0)
                            .arg(m_location.endpoint.toString()), -1);
    } else if (status == 0) {
        if (isTransient(reply->error()) && operation->attempt < m_location.retries)
            return retryLater(operation, reply->errorString());
        complete(operation);
        operation->fail(describeNetworkError(*operation, reply), 0);
    } else if (status >= 500 && operation->attempt < m_location.retries) {
        retryLater(operation, QStringLiteral("HTTP %1").arg(status));
    } else if (status >= 200 && status < 300) {
        complete(operation);
        operation->succeed(reply, body);
    } else {
        complete(operation);
        operation->fail(describeFailure(*operation, reply, body), status);
    }
}

void S3Transport::retryLater(const OperationPtr &operation, const QString &why)
{
    // Exponential backoff with jitter: 200 ms, 400 ms, 800 ms ... capped at 10 s.
    const int base = qMin(200 << qMin(operation->attempt, 6), 10000);
    const int delay = base / 2 + int(QRandomGenerator::global()->bounded(base / 2 + 1));
    ++operation->attempt;
    qCInfo(lcS3).noquote() << QStringLiteral("'%1': %2, retry %3 of %4 in %5 ms")
                                  .arg(operation->name, why).arg(operation->attempt)
                                  .arg(m_location.retries).arg(delay);
    QTimer::singleShot(delay, this, [this, operation] {
        if (m_inFlight.contains(operation))
            send(operation);
    });
}

void S3Transport::complete(const OperationPtr &operation)
{
    m_inFlight.removeOne(operation);
}

QString S3Transport::describeNetworkError(const Operation &operation, QNetworkReply *reply) const
{
    return QStringLiteral("cannot reach the S3 endpoint %1 to read '%2' from %3: %4")
        .arg(m_location.endpoint.toString(), operation.name, m_location.toString(),
             reply->errorString());
}

QString S3Transport::describeFailure(const Operation &operation, QNetworkReply *reply,
                                     const QByteArray &body) const
{
    const int status = httpStatus(reply);
    const S3ErrorBody error = parseErrorBody(body);
    const QString detail = error.code.isEmpty()
        ? QStringLiteral("HTTP %1").arg(status)
        : QStringLiteral("HTTP %1 %2: %3").arg(status).arg(error.code, error.message);
    const QString object = QStringLiteral("'%1' (key '%2' in bucket '%3')")
                               .arg(operation.name, m_location.objectKey(operation.name),
                                    m_location.bucket);
    if (status == 403 || status == 401)
        return QStringLiteral("S3 refused access to %1: the credentials are wrong or lack "
                              "permission (access key id '%2'; check AWS_ACCESS_KEY_ID and "
                              "AWS_SECRET_ACCESS_KEY) [%3]")
            .arg(object, m_location.credentials.accessKeyId, detail);
    if (status == 404 && error.code == QLatin1String("NoSuchBucket"))
        return QStringLiteral("S3 bucket '%1' does not exist at %2 [%3]")
            .arg(m_location.bucket, m_location.endpoint.toString(), detail);
    if (status == 404)
        return QStringLiteral("object %1 not found in %2 [%3]")
            .arg(object, m_location.toString(), detail);
    if (status == 416)
        return QStringLiteral("byte range %1 lies outside object %2 [%3]")
            .arg(QString::fromLatin1(rangeHeader(operation.range)), object, detail);
    if (status == 301 || status == 307 || status == 400) {
        const QByteArray region = reply->rawHeader("x-amz-bucket-region");
        if (!region.isEmpty())
            return QStringLiteral("bucket '%1' is in region '%2', not '%3': set the region "
                                  "(AWS_REGION or region=%2) [%4]")
                .arg(m_location.bucket, QString::fromLatin1(region.left(64)), m_location.region,
                     detail);
    }
    const QString attempts = operation.attempt > 0
        ? QStringLiteral(" after %1 attempts").arg(operation.attempt + 1) : QString();
    return QStringLiteral("S3 request %1 for %2 failed%3 [%4]")
        .arg(QString::fromLatin1(operation.method), object, attempts, detail);
}

} // namespace surfing
