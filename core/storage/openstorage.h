// The one place that turns a location given by a user into a ChunkStorage. Local paths today;
// "s3://bucket/prefix" is added here by the S3 backend.
#pragma once

#include "storage/chunkstorage.h"

#include <memory>

namespace surfing {

// Throws surfing::Error naming the location when it cannot be opened.
std::unique_ptr<ChunkStorage> openStorage(const QString &location);

} // namespace surfing
