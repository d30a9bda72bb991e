#include "storage/s3location.h"

#include "base/error.h"

#include <QHostAddress>
#include <QRegularExpression>
#include <QUrlQuery>

namespace surfing {
namespace {

const QString kScheme = QStringLiteral("s3://");

QUrl parseEndpoint(const QString &text, const QString &origin)
{
    const QUrl url(text, QUrl::StrictMode);
    const bool schemeOk = url.scheme() == QLatin1String("http") || url.scheme() == QLatin1String("https");
    if (!url.isValid() || !schemeOk || url.host().isEmpty() || url.hasQuery()
        || (!url.path().isEmpty() && url.path() != QLatin1String("/")))
        throw Error(QStringLiteral("%1: endpoint '%2' is not an http(s)://host[:port] URL")
                        .arg(origin, text));
    QUrl clean;
    clean.setScheme(url.scheme());
    clean.setHost(url.host());
    clean.setPort(url.port());
    return clean;
}

int parseNumber(const QString &name, const QString &value, int min, int max)
{
    bool ok = false;
    const int number = value.toInt(&ok);
    if (!ok || number < min || number > max)
        throw Error(QStringLiteral("s3 option %1=%2: expected a whole number from %3 to %4")
                        .arg(name, value).arg(min).arg(max));
    return number;
}

S3Location::Addressing parseAddressing(const QString &value)
{
    if (value == QLatin1String("path"))
        return S3Location::Addressing::PathStyle;
    if (value == QLatin1String("virtual"))
        return S3Location::Addressing::VirtualHosted;
    throw Error(QStringLiteral("s3 option addressing=%1: expected 'path' or 'virtual'").arg(value));
}

void applyOption(S3Location &location, const QString &name, const QString &value)
{
    if (name == QLatin1String("region"))
        location.region = value;
    else if (name == QLatin1String("endpoint"))
        location.endpoint = parseEndpoint(value, QStringLiteral("s3 option endpoint"));
    else if (name == QLatin1String("addressing"))
        location.addressing = parseAddressing(value);
    else if (name == QLatin1String("timeout"))
        location.timeoutMs = parseNumber(name, value, 1, 3600) * 1000;
    else if (name == QLatin1String("retries"))
        location.retries = parseNumber(name, value, 0, 10);
    else
        throw Error(QStringLiteral("unknown s3 option '%1' (known: region, endpoint, addressing, "
                                   "timeout, retries)").arg(name));
}

void checkBucket(const QString &bucket, const QString &location)
{
    static const QRegularExpression valid(QStringLiteral("^[A-Za-z0-9._-]{1,255}$"));
    if (!valid.match(bucket).hasMatch())
        throw Error(QStringLiteral("'%1': bucket name '%2' is not valid (letters, digits, '.', "
                                   "'-', '_')").arg(location, bucket));
}

QString firstSet(const QProcessEnvironment &environment, std::initializer_list<const char *> names)
{
    for (const char *name : names) {
        const QString value = environment.value(QLatin1String(name));
        if (!value.isEmpty())
            return value;
    }
    return {};
}

bool isLocalHost(const QString &host)
{
    return !QHostAddress(host).isNull() || host == QLatin1String("localhost");
}

} // namespace

bool S3Location::isS3Url(const QString &location)
{
    return location.startsWith(kScheme, Qt::CaseInsensitive);
}

S3Location S3Location::parse(const QString &location)
{
    if (!isS3Url(location))
        throw Error(QStringLiteral("'%1' is not an s3://bucket/prefix location").arg(location));
    QString rest = location.mid(kScheme.size());
    QString query;
    if (const qsizetype mark = rest.indexOf(QLatin1Char('?')); mark >= 0) {
        query = rest.mid(mark + 1);
        rest.truncate(mark);
    }
    S3Location result;
    const qsizetype slash = rest.indexOf(QLatin1Char('/'));
    result.bucket = slash < 0 ? rest : rest.left(slash);
    result.prefix = slash < 0 ? QString() : rest.mid(slash + 1);
    while (result.prefix.endsWith(QLatin1Char('/')))
        result.prefix.chop(1);
    checkBucket(result.bucket, location);
    if (result.prefix.startsWith(QLatin1Char('/')) || result.prefix.contains(QLatin1String("//")))
        throw Error(QStringLiteral("'%1': the prefix has an empty path segment").arg(location));
    for (const auto &[name, value] : QUrlQuery(query).queryItems(QUrl::FullyDecoded))
        applyOption(result, name, value);
    return result;
}

void S3Location::applyEnvironment(const QProcessEnvironment &environment)
{
    if (region.isEmpty())
        region = firstSet(environment, {"AWS_REGION", "AWS_DEFAULT_REGION"});
    if (region.isEmpty())
        region = QStringLiteral("us-east-1");
    if (endpoint.isEmpty()) {
        const QString fromEnv = firstSet(environment, {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"});
        endpoint = fromEnv.isEmpty()
            ? QUrl(QStringLiteral("https://s3.%1.amazonaws.com").arg(region))
            : parseEndpoint(fromEnv, QStringLiteral("AWS_ENDPOINT_URL"));
    }
    if (credentials.accessKeyId.isEmpty() && credentials.secretAccessKey.isEmpty()) {
        credentials.accessKeyId = environment.value(QStringLiteral("AWS_ACCESS_KEY_ID"));
        credentials.secretAccessKey = environment.value(QStringLiteral("AWS_SECRET_ACCESS_KEY"));
        credentials.sessionToken = environment.value(QStringLiteral("AWS_SESSION_TOKEN"));
    }
    if (credentials.accessKeyId.isEmpty() != credentials.secretAccessKey.isEmpty())
        throw Error(QStringLiteral("%1: an access key id needs its secret access key and the other "
                                   "way round (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)")
                        .arg(toString()));
    static const QRegularExpression dnsBucket(QStringLiteral("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"));
    if (!usesPathStyle() && !dnsBucket.match(bucket).hasMatch())
        throw Error(QStringLiteral("%1: bucket '%2' cannot be addressed as a host name; use "
                                   "addressing=path").arg(toString(), bucket));
}

QString S3Location::toString() const
{
    return kScheme + bucket + (prefix.isEmpty() ? QString() : QLatin1Char('/') + prefix);
}

bool S3Location::usesPathStyle() const
{
    if (addressing != Addressing::Auto)
        return addressing == Addressing::PathStyle;
    return isLocalHost(endpoint.host());
}

QString S3Location::objectKey(const QString &name) const
{
    return prefix.isEmpty() ? name : prefix + QLatin1Char('/') + name;
}

QUrl S3Location::objectUrl(const QString &name) const
{
    QUrl url = endpoint;
    QString path = QLatin1Char('/') + objectKey(name);
    if (usesPathStyle())
        path.prepend(QLatin1Char('/') + bucket);
    else
        url.setHost(bucket + QLatin1Char('.') + endpoint.host());
    url.setPath(QString::fromLatin1(sigv4::encodePath(path)), QUrl::StrictMode);
    return url;
}

} // namespace surfing
