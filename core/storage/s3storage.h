// Chunk directories in an S3-compatible object store (AWS S3, MinIO, s3rver, ...), read with
// AWS Signature V4 over QNetworkAccessManager. The network work runs on a thread the storage
// owns, so read() and checkHealth() may be called from any thread, with or without an event
// loop there. See S3Location for the options and where credentials come from.
#pragma once

#include "storage/chunkstorage.h"
#include "storage/s3location.h"

#include <QNetworkProxy>
#include <QThread>

namespace surfing {

class S3Transport;
using WriteCallback = Callback<QString>;

class S3Storage : public ChunkStorage
{
    Q_OBJECT
public:
    // `location` should have had applyEnvironment() called (the constructor does not read the
    // environment, so tests and callers stay in control).
    explicit S3Storage(const S3Location &location, QObject *parent = nullptr);
    ~S3Storage() override;

    QString location() const override;
    void read(const QString &name, ByteRange range, ReadCallback done) override;
    void checkHealth(HealthCallback done) override; // HEAD of chunk_info.json

    // Uploads one object (used to publish chunk directories and by tests); `done` gets the
    // error, or an empty string once the object is stored.
    void write(const QString &name, const QByteArray &data, WriteCallback done);

    // Sends the requests through this proxy instead of Qt's default.
    void setProxy(const QNetworkProxy &proxy);

    const S3Location &settings() const { return m_location; }

private:
    S3Location m_location;
    QThread m_thread;
    S3Transport *m_transport;
};

// Uploads and waits, running a local event loop; returns the error, empty on success.
QString writeAndWait(S3Storage &storage, const QString &name, const QByteArray &data);

// Throws surfing::Error when `name` could escape the prefix or is not a plain object name.
void checkObjectName(const QString &name);

} // namespace surfing
