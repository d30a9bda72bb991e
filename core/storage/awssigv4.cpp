#include "storage/awssigv4.h"

#include <QCryptographicHash>
#include <QMessageAuthenticationCode>

#include <algorithm>

namespace surfing::sigv4 {
namespace {

bool isUnreserved(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
        || c == '-' || c == '.' || c == '_' || c == '~';
}

QByteArray collapseSpaces(const QByteArray &value)
{
    return value.simplified(); // trims and folds runs of whitespace into one space
}

HeaderList lowerCasedSorted(const HeaderList &headers)
{
    HeaderList out;
    out.reserve(headers.size());
    for (const auto &[name, value] : headers)
        out.append({name.trimmed().toLower(), collapseSpaces(value)});
    std::stable_sort(out.begin(), out.end(),
                     [](const auto &a, const auto &b) { return a.first < b.first; });
    return out;
}

QByteArray canonicalQuery(const HeaderList &query)
{
    QList<QByteArray> parts;
    for (const auto &[name, value] : query)
        parts.append(uriEncode(name, false) + '=' + uriEncode(value, false));
    std::sort(parts.begin(), parts.end());
    return parts.join('&');
}

QByteArray credentialScope(const QDateTime &time, const Scope &scope)
{
    return amzDay(time) + '/' + scope.region.toUtf8() + '/' + scope.service.toUtf8()
        + "/aws4_request";
}

} // namespace

QByteArray uriEncode(const QByteArray &text, bool keepSlash)
{
    static const char hex[] = "0123456789ABCDEF";
    QByteArray out;
    out.reserve(text.size() * 3);
    for (char c : text) {
        if (isUnreserved(c) || (keepSlash && c == '/')) {
            out.append(c);
        } else {
            const auto b = static_cast<unsigned char>(c);
            out.append('%').append(hex[b >> 4]).append(hex[b & 0xF]);
        }
    }
    return out;
}

QByteArray encodePath(const QString &path)
{
    return uriEncode(path.toUtf8(), true);
}

QByteArray sha256Hex(const QByteArray &data)
{
    return QCryptographicHash::hash(data, QCryptographicHash::Sha256).toHex();
}

QByteArray hmacSha256(const QByteArray &key, const QByteArray &message)
{
    return QMessageAuthenticationCode::hash(message, key, QCryptographicHash::Sha256);
}

QByteArray amzDate(const QDateTime &time)
{
    return time.toUTC().toString(QStringLiteral("yyyyMMdd'T'HHmmss'Z'")).toLatin1();
}

QByteArray amzDay(const QDateTime &time)
{
    return time.toUTC().toString(QStringLiteral("yyyyMMdd")).toLatin1();
}

QByteArray signedHeaderNames(const HeaderList &headers)
{
    QList<QByteArray> names;
    for (const auto &header : lowerCasedSorted(headers))
        names.append(header.first);
    return names.join(';');
}

QByteArray canonicalRequest(const Request &request)
{
    QByteArray headerBlock;
    for (const auto &[name, value] : lowerCasedSorted(request.headers))
        headerBlock += name + ':' + value + '\n';
    return request.method + '\n' + request.encodedPath + '\n' + canonicalQuery(request.query)
        + '\n' + headerBlock + '\n' + signedHeaderNames(request.headers) + '\n'
        + request.payloadHash;
}

QByteArray stringToSign(const QDateTime &time, const Scope &scope, const QByteArray &canonical)
{
    return "AWS4-HMAC-SHA256\n" + amzDate(time) + '\n' + credentialScope(time, scope) + '\n'
        + sha256Hex(canonical);
}

QByteArray signingKey(const QString &secret, const QDateTime &time, const Scope &scope)
{
    const QByteArray dateKey = hmacSha256("AWS4" + secret.toUtf8(), amzDay(time));
    const QByteArray regionKey = hmacSha256(dateKey, scope.region.toUtf8());
    const QByteArray serviceKey = hmacSha256(regionKey, scope.service.toUtf8());
    return hmacSha256(serviceKey, "aws4_request");
}

QByteArray signature(const Request &request, const Credentials &credentials,
                     const Scope &scope, const QDateTime &time)
{
    const QByteArray toSign = stringToSign(time, scope, canonicalRequest(request));
    return hmacSha256(signingKey(credentials.secretAccessKey, time, scope), toSign).toHex();
}

QByteArray sign(Request &request, const Credentials &credentials, const Scope &scope,
                const QDateTime &time)
{
    request.headers.append({"x-amz-date", amzDate(time)});
    request.headers.append({"x-amz-content-sha256", request.payloadHash});
    if (!credentials.sessionToken.isEmpty())
        request.headers.append({"x-amz-security-token", credentials.sessionToken.toUtf8()});
    return "AWS4-HMAC-SHA256 Credential=" + credentials.accessKeyId.toUtf8() + '/'
        + credentialScope(time, scope) + ",SignedHeaders=" + signedHeaderNames(request.headers)
        + ",Signature=" + signature(request, credentials, scope, time);
}

} // namespace surfing::sigv4
