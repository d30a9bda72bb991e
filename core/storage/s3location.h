// Where an S3Storage reads from: "s3://bucket/prefix[?option=value&...]" plus what the standard
// AWS environment variables add. Options in the URL (or set here) win over the environment.
//   region=eu-west-1            AWS_REGION, AWS_DEFAULT_REGION; default us-east-1
//   endpoint=http://host:port   AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL; default AWS for the region
//   addressing=path|virtual     default: path for an IP or "localhost" endpoint, else virtual
//   timeout=SECONDS             no bytes for this long fails a request; default 30
//   retries=N                   extra attempts after a 5xx answer; default 3
// Credentials come from the fields here or AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN; none at all means unsigned requests (public buckets).
#pragma once

#include "storage/awssigv4.h"

#include <QProcessEnvironment>
#include <QString>
#include <QUrl>

namespace surfing {

struct S3Location {
    enum class Addressing { Auto, PathStyle, VirtualHosted };

    QString bucket;
    QString prefix; // without leading or trailing '/'
    QString region;
    QUrl endpoint;
    Addressing addressing = Addressing::Auto;
    sigv4::Credentials credentials;
    int timeoutMs = 30000;
    int retries = 3;

    static bool isS3Url(const QString &location);
    // Throws surfing::Error naming the part at fault.
    static S3Location parse(const QString &location);

    // Fills what is still unset from the AWS variables and the defaults; throws on a bad value.
    void applyEnvironment(const QProcessEnvironment &environment =
                              QProcessEnvironment::systemEnvironment());

    QString toString() const; // "s3://bucket/prefix", never credentials
    bool usesPathStyle() const;
    QString objectKey(const QString &name) const;
    QUrl objectUrl(const QString &name) const; // percent-encoded as SigV4 signs it
};

} // namespace surfing
