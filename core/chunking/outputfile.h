// The files the chunker writes and reads: plain POSIX descriptors, so tensor bytes can go from the
// source file to a chunk inside the kernel (copy_file_range), as cp does, instead of through
// user space.
#pragma once

#include <QByteArrayView>
#include <QString>

namespace surfing {

class InputFile
{
public:
    explicit InputFile(const QString &path); // throws surfing::Error
    ~InputFile();
    InputFile(const InputFile &) = delete;
    InputFile &operator=(const InputFile &) = delete;
    int descriptor() const { return m_fd; }

private:
    int m_fd = -1;
};

class OutputFile
{
public:
    explicit OutputFile(const QString &path); // creates or truncates; throws surfing::Error
    ~OutputFile();
    OutputFile(const OutputFile &) = delete;
    OutputFile &operator=(const OutputFile &) = delete;

    void write(QByteArrayView bytes);
    // Appends `bytes`, which are the contents of `source` at `offset`: copied inside the kernel
    // where the file systems allow it, else written from `bytes`.
    void copyFrom(const InputFile &source, qint64 offset, QByteArrayView bytes);
    // Closes the file (fsyncing it first with `sync`) and reports any late write error.
    void finish(bool sync);

private:
    [[noreturn]] void fail(const char *what) const;
    QString m_path;
    int m_fd = -1;
};

// Maps a stretch of a memory-mapped file in one go instead of page fault by page fault (a third
// of the chunker's kernel time on a warm page cache). Only a hint: errors are ignored.
void populateForReading(QByteArrayView mappedBytes);

} // namespace surfing
