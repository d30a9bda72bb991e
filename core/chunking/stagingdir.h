// A hidden staging directory beside a destination, renamed onto it when complete.
#pragma once

#include <QString>

namespace surfing {

class StagingDir
{
public:
    // Creates "<parent>/.<name>.partial-<pid>-<random>"; removes stale ones of dead processes.
    explicit StagingDir(const QString &destination); // throws surfing::Error
    ~StagingDir();                                    // removes the staging dir unless committed
    StagingDir(const StagingDir &) = delete;
    StagingDir &operator=(const StagingDir &) = delete;

    QString path() const { return m_path; }
    QString filePath(const QString &name) const;

    // Puts the directory at the destination (with `sync`, fsyncing it and the parent around the
    // rename). An existing destination is first moved aside and removed only after the new one
    // is in place.
    void commit(bool replaceExisting, bool sync);

private:
    QString m_destination;
    QString m_path;
    bool m_committed = false;
};

// Writes `bytes` to `path` (and fsyncs it with `sync`); throws surfing::Error (e.g. disk full)
// naming the file.
void writeWholeFile(const QString &path, const QByteArray &bytes, bool sync);

} // namespace surfing
