#include "storage/openstorage.h"

#include "base/error.h"
#include "storage/localstorage.h"
#include "storage/s3storage.h"

namespace surfing {

std::unique_ptr<ChunkStorage> openStorage(const QString &location)
{
    if (location.isEmpty())
        throw Error(QStringLiteral("empty chunk location: give a chunk directory"));
    if (S3Location::isS3Url(location)) {
        S3Location s3 = S3Location::parse(location);
        s3.applyEnvironment();
        return std::make_unique<S3Storage>(s3);
    }
    if (location.contains(QLatin1String("://")))
        throw Error(QStringLiteral("%1: unsupported location scheme (give a local chunk directory or s3://bucket/prefix)").arg(location));
    return std::make_unique<LocalStorage>(location);
}

} // namespace surfing
