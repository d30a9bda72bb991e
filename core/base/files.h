// File-system primitives for code that reads user-given paths and cleans up after itself:
// inputs are only read from regular files (a FIFO or a device would block or never end), and a
// tree is removed without ever following a symbolic link out of it.
#pragma once

#include <QByteArray>
#include <QString>

namespace surfing {

// Opens `path` for reading (following symbolic links) and returns the descriptor. Never blocks
// on a FIFO: anything but a regular file is refused. Throws surfing::Error naming the path.
int openRegularFile(const QString &path);

// Reads a whole regular file of at most `maxBytes`; throws surfing::Error naming the path.
QByteArray readRegularFile(const QString &path, qint64 maxBytes);

// Throws surfing::Error naming `path` when it exists and is not a regular file.
void requireRegularFile(const QString &path);

// True when `path` itself (not what it may point to) exists: a dangling link exists too.
bool pathEntryExists(const QString &path);
bool isSymbolicLink(const QString &path);

// Removes `path`: a symbolic link or a file is unlinked, a directory is emptied and removed.
// Never follows a link, neither `path` itself nor anything inside it, so a link planted in the
// tree cannot make it delete anything outside. Returns false (errno set) on the first failure.
bool removeTreeNoFollow(const QString &path);

} // namespace surfing
