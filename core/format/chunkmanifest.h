// chunk_info.json: the manifest of a chunk directory (docs/chunk-format.md is the spec).
// Everything that serves or reads chunks goes through this: a chunk name that is not in the
// manifest does not exist, and file names in it are plain names inside the directory.
#pragma once

#include "format/chunkcodec.h"
#include "format/dtype.h"
#include "format/modelconfig.h"

#include <QByteArray>
#include <QString>
#include <QStringList>
#include <QVector>

namespace surfing {

constexpr const char kManifestFileName[] = "chunk_info.json";
constexpr const char kChunkFormatName[] = "surfing-chunks";
constexpr int kChunkFormatVersion = 2;   // 2: companion files carry their size and SHA-256
constexpr int kOldestChunkFormatVersion = 1;

struct ManifestTensor {
    QString name;   // key inside the chunk
    Dtype dtype = Dtype::F32;
    QVector<qint64> shape;
    QString source; // name in the original checkpoint
};

struct ManifestChunk {
    QString name;  // "layer_3"
    QString kind;  // "layer"
    int index = -1;
    QString file;  // "layer_3.safetensors"
    ChunkCodec codec = ChunkCodec::None;
    qint64 storedBytes = 0;
    qint64 rawBytes = 0;
    QByteArray sha256; // hex of the stored bytes
    QVector<ManifestTensor> tensors;
};

// config.json or a tokenizer file copied beside the chunks; checked like a chunk before use.
struct ManifestFile {
    QString name;
    qint64 bytes = -1;   // -1 and an empty hash: unknown (format version 1)
    QByteArray sha256;   // hex
    bool hasChecksum() const { return !sha256.isEmpty(); }
};

struct ChunkManifest {
    QString modelName;
    QString modelType;          // as in config.json
    ModelFamily family = ModelFamily::Bert;
    int numLayers = 0;
    int numDecoderLayers = 0;
    QString dtype = QStringLiteral("original"); // or "f16" / "bf16" when converted
    ChunkCodec codec = ChunkCodec::None;
    int level = 0;
    QString createdBy;
    QVector<ManifestChunk> chunks; // execution order
    QVector<ManifestFile> files;   // config.json, tokenizer files copied beside the chunks

    const ManifestChunk *find(const QString &name) const;
    const ManifestChunk *find(const QString &kind, int index) const;
    const ManifestFile *findFile(const QString &name) const;
    QStringList fileNames() const;
    qint64 totalStoredBytes() const;
    qint64 totalRawBytes() const;

    QByteArray toJson() const;
    // Strict: throws surfing::Error naming `source` and the field at fault.
    static ChunkManifest fromJson(const QByteArray &json, const QString &source);
    static ChunkManifest load(const QString &chunkDir);
};

// True for names a manifest may use as chunk or file names: [A-Za-z0-9_.-], no "..", < 256 chars.
bool isSafeName(const QString &name);

} // namespace surfing
