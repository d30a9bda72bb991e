// The one place that turns a location given by a user into a ChunkStorage: a local chunk
// directory, or "s3://bucket/prefix[?options]" (S3Storage; options and AWS environment variables
// as described in storage/s3location.h).
#pragma once

#include "storage/chunkstorage.h"

#include <memory>

namespace surfing {

// Throws surfing::Error naming the location when it cannot be opened.
std::unique_ptr<ChunkStorage> openStorage(const QString &location);

} // namespace surfing
