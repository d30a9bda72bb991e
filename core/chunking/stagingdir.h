// A hidden staging directory beside a destination, renamed onto it when complete.
#pragma once

#include <QString>

namespace surfing {

class StagingDir
{
public:
    // Creates "<parent>/.<name>.partial-<pid>-<random>" with a marker file inside, and removes
    // stale ones left by dead runs: only real directories owned by this user that carry the
    // marker (or a manifest), never through a symbolic link (see removeStaleSiblings()).
    explicit StagingDir(const QString &destination); // throws surfing::Error
    ~StagingDir();                                    // removes the staging dir unless committed
    StagingDir(const StagingDir &) = delete;
    StagingDir &operator=(const StagingDir &) = delete;

    QString path() const { return m_path; }
    QString filePath(const QString &name) const;

    // Puts the directory at the destination (with `sync`, fsyncing it and the parent around the
    // rename). An existing destination is first moved aside and removed only after the new one
    // is in place; a destination that is a symbolic link is replaced as a link, and what it
    // points to is never touched.
    void commit(bool replaceExisting, bool sync);

private:
    QString m_destination;
    QString m_path;
    bool m_committed = false;
};

// The file that marks a directory as this tool's staging directory.
constexpr const char kStagingMarkerName[] = ".surfing-staging";

// Writes `bytes` to `path` (and fsyncs it with `sync`); throws surfing::Error (e.g. disk full)
// naming the file.
void writeWholeFile(const QString &path, const QByteArray &bytes, bool sync);

} // namespace surfing
