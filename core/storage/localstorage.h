// ChunkStorage over a chunk directory on the local file system. Reads run on the storage's own
// thread pool so a slow disk never blocks the server's event loop.
#pragma once

#include "storage/chunkstorage.h"

#include <QThreadPool>

namespace surfing {

class LocalStorage : public ChunkStorage
{
    Q_OBJECT
public:
    // `directory` must exist; throws surfing::Error otherwise. `readThreads` bounds parallel reads.
    explicit LocalStorage(const QString &directory, int readThreads = 4, QObject *parent = nullptr);
    ~LocalStorage() override; // waits for reads under way

    QString location() const override;
    void read(const QString &name, ByteRange range, ReadCallback done) override;
    void checkHealth(HealthCallback done) override;

private:
    QString m_directory;
    QThreadPool m_pool;
};

} // namespace surfing
