#include "storage/openstorage.h"

#include "base/error.h"
#include "storage/localstorage.h"

namespace surfing {

std::unique_ptr<ChunkStorage> openStorage(const QString &location)
{
    if (location.isEmpty())
        throw Error(QStringLiteral("empty chunk location: give a chunk directory"));
    if (location.contains(QLatin1String("://")))
        throw Error(QStringLiteral("%1: unsupported location scheme (give a local chunk directory)").arg(location));
    return std::make_unique<LocalStorage>(location);
}

} // namespace surfing
