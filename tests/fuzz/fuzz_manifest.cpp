// libFuzzer target: chunk_info.json arrives from disk, S3 or a server; any bytes must be rejected
// cleanly, and an accepted manifest may only name plain files.
#include "base/error.h"
#include "format/chunkmanifest.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    try {
        const surfing::ChunkManifest manifest = surfing::ChunkManifest::fromJson(
            QByteArray(reinterpret_cast<const char *>(data), qsizetype(size)), QStringLiteral("fuzz"));
        for (const surfing::ManifestChunk &chunk : manifest.chunks) {
            if (!surfing::isSafeName(chunk.file) || !surfing::isSafeName(chunk.name))
                std::abort();
        }
    } catch (const surfing::Error &) {
    }
    return 0;
}
