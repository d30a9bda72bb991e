// AWS Signature Version 4 for S3 requests: pure functions, no I/O, so that every step can be
// checked against the examples AWS publishes. The S3 flavour is used: paths are encoded once and
// not normalised, and the payload hash travels in x-amz-content-sha256.
#pragma once

#include <QByteArray>
#include <QDateTime>
#include <QList>
#include <QPair>
#include <QString>

namespace surfing::sigv4 {

using HeaderList = QList<QPair<QByteArray, QByteArray>>;

struct Credentials {
    QString accessKeyId;
    QString secretAccessKey;
    QString sessionToken; // empty unless temporary credentials
};

struct Scope {
    QString region = QStringLiteral("us-east-1");
    QString service = QStringLiteral("s3");
};

struct Request {
    QByteArray method = "GET";
    QByteArray encodedPath = "/"; // already URI-encoded (see encodePath), exactly as sent
    HeaderList query;             // decoded names and values
    HeaderList headers;           // must contain "host"; names in any case
    QByteArray payloadHash;       // lowercase hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
};

// S3's URI encoding: every byte except A-Z a-z 0-9 - . _ ~ becomes %XX (upper case); '/' is
// kept when keepSlash is true (object key paths) and encoded otherwise (query components).
QByteArray uriEncode(const QByteArray &text, bool keepSlash);
QByteArray encodePath(const QString &path);

QByteArray sha256Hex(const QByteArray &data);
QByteArray hmacSha256(const QByteArray &key, const QByteArray &message);

// "20130524T000000Z" and "20130524" for a UTC time.
QByteArray amzDate(const QDateTime &time);
QByteArray amzDay(const QDateTime &time);

// The steps of the algorithm, each testable on its own.
QByteArray signedHeaderNames(const HeaderList &headers);
QByteArray canonicalRequest(const Request &request);
QByteArray stringToSign(const QDateTime &time, const Scope &scope, const QByteArray &canonical);
QByteArray signingKey(const QString &secret, const QDateTime &time, const Scope &scope);
QByteArray signature(const Request &request, const Credentials &credentials,
                     const Scope &scope, const QDateTime &time);

// Adds x-amz-date, x-amz-content-sha256 and (with a session token) x-amz-security-token to
// request.headers, then returns the value of the Authorization header for it.
QByteArray sign(Request &request, const Credentials &credentials, const Scope &scope,
                const QDateTime &time);

} // namespace surfing::sigv4
