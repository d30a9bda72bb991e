// Where a weight server reads chunk directories from: a local directory or an S3-compatible
// bucket. Object names are relative to the chunk directory root ("chunk_info.json",
// "layer_0.safetensors"); callers only ever pass names listed in a manifest (or the manifest).
#pragma once

#include "base/callback.h"

#include <QByteArray>
#include <QObject>
#include <QString>

namespace surfing {

struct ByteRange {
    qint64 offset = 0;
    qint64 length = -1; // -1: to the end of the object
};

struct ReadResult {
    QByteArray bytes;
    QString error; // empty on success; names the object and the storage (for logs, not clients)

    bool ok() const { return error.isEmpty(); }
    static ReadResult failure(const QString &message) { return {{}, message}; }
};

struct HealthResult {
    bool ok = false;
    QString reason; // when not ok: a few words that name no path, bucket or key ("timed out")
};

using ReadCallback = Callback<ReadResult>;
using HealthCallback = Callback<HealthResult>;

class ChunkStorage : public QObject
{
    Q_OBJECT
public:
    using QObject::QObject;
    ~ChunkStorage() override = default;

    // "/srv/chunks/bert" or "s3://bucket/prefix", for logs.
    virtual QString location() const = 0;

    // Reads an object (or a byte range of it) and calls `done` once, from any thread, with the
    // bytes or an error naming the object. Callable from any thread. A storage that is
    // destroyed first still calls `done` (with an error) for reads under way.
    // The bytes must be a block allocated at their final size (allocateLargeBuffer()) and never
    // written after `done`: the server sends large chunks by reference (server/splicedwriter.h),
    // so a buffer that grew by reallocation must be copied once into such a block first.
    virtual void read(const QString &name, ByteRange range, ReadCallback done) = 0;

    // Whether the storage answers (the manifest can be read); `done` is called once.
    virtual void checkHealth(HealthCallback done) = 0;
};

// Reads an object and waits for it, running a local event loop meanwhile (for addModel() and
// tools; servers use read()).
ReadResult readAndWait(ChunkStorage &storage, const QString &name, ByteRange range = {});
HealthResult checkHealthAndWait(ChunkStorage &storage);

} // namespace surfing
