// What the client tests compare against: a chunk directory's decoded chunks, read and decoded
// here directly (not through the code under test).
#pragma once

#include "format/chunkmanifest.h"

#include <QByteArray>
#include <QHash>
#include <QString>

namespace surfing::test {

struct ExpectedChunks {
    ChunkManifest manifest;
    QHash<QString, QByteArray> decoded;
};

ExpectedChunks loadExpectedChunks(const QString &chunkDir);

// Flips one byte in the middle of `path` (same size, different hash).
bool corruptFile(const QString &path);

// Copies the files of a flat directory.
bool copyDir(const QString &from, const QString &to);

} // namespace surfing::test
