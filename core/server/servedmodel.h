// One chunk directory a WeightServer serves: its storage and its manifest.
#pragma once

#include "format/chunkmanifest.h"
#include "storage/chunkstorage.h"

#include <QJsonObject>
#include <memory>

namespace surfing {

struct ServedModel {
    QString name; // the manifest's model_name
    std::shared_ptr<ChunkStorage> storage;
    ChunkManifest manifest;
    QJsonObject manifestJson; // chunk_info.json as stored, for the manifest reply
};

} // namespace surfing
