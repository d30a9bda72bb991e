// Writing a whole file a user asked for (fetched model files, chunks): atomically (a temporary
// file renamed into place), and, when it fails, saying why in words a user can act on ("the disk
// is full"), naming the file. Qt's own message for a full disk is often "Unknown error".
#pragma once

#include <QByteArray>
#include <QString>

namespace surfing {

// False with `error` set ("cannot write PATH: the disk is full ...") on failure; nothing is
// left at `path` then.
bool saveFile(const QString &path, const QByteArray &data, QString *error);

} // namespace surfing
