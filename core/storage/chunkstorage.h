// Where a weight server reads chunk directories from: a local directory or an S3-compatible
// bucket. Object names are relative to the chunk directory root ("chunk_info.json",
// "layer_0.safetensors"); callers only ever pass names listed in a manifest (or the manifest).
#pragma once

#include <QByteArray>
#include <QFuture>
#include <QObject>
#include <QString>

namespace surfing {

struct ByteRange {
    qint64 offset = 0;
    qint64 length = -1; // -1: to the end of the object
};

class ChunkStorage : public QObject
{
    Q_OBJECT
public:
    using QObject::QObject;
    ~ChunkStorage() override = default;

    // "/srv/chunks/bert" or "s3://bucket/prefix", for logs and /healthz.
    virtual QString location() const = 0;

    // Reads an object (or a byte range of it). The future fails with surfing::Error (as an
    // exception) naming the object when it is missing or unreadable. Callable from any thread.
    virtual QFuture<QByteArray> read(const QString &name, ByteRange range = {}) = 0;

    // Resolves true when the storage answers (the manifest can be read).
    virtual QFuture<bool> checkHealth() = 0;
};

} // namespace surfing
