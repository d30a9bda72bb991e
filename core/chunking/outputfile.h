// The files the chunker writes and reads: plain POSIX descriptors. Tensor bytes are read from
// the source file into a small buffer, hashed there while it is in the CPU's cache, and written
// from it. Hashing straight from the memory-mapped source and copying with copy_file_range, as
// cp does, was slower: SHA-256 ran at about 1.2 GB/s on pages coming from memory against about
// 1.7 GB/s in cache, and hashing is most of the chunker's time (docs/benchmarks.md).
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
    // Reads `size` bytes at `offset` into `into`; throws surfing::Error on an error or a short file.
    void readAt(qint64 offset, char *into, qint64 size) const;

private:
    QString m_path;
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
    // Closes the file (fsyncing it first with `sync`) and reports any late write error.
    void finish(bool sync);

private:
    [[noreturn]] void fail(const char *what) const;
    QString m_path;
    int m_fd = -1;
};

} // namespace surfing
