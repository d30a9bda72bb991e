#include "base/savefile.h"

#include <QFileInfo>
#include <QSaveFile>
#include <QStorageInfo>
#include <cerrno>
#include <cstring>

namespace surfing {
namespace {

// `error` is errno right after the call that failed: Qt's errorString() is often empty or
// "Unknown error" by the time the caller asks (QSaveFile::commit() resets it).
QString reason(const QString &path, const QFileDevice &file, int error)
{
    if (error == ENOSPC) {
        const QStorageInfo disk(QFileInfo(path).absolutePath());
        return QStringLiteral("the disk is full (no space left on %1)")
            .arg(disk.isValid() ? disk.rootPath() : QStringLiteral("the device"));
    }
    if (error == EDQUOT)
        return QStringLiteral("the disk quota is used up");
    if (error != 0)
        return QString::fromLocal8Bit(std::strerror(error));
    return file.errorString();
}

} // namespace

bool saveFile(const QString &path, const QByteArray &data, QString *error)
{
    // Unbuffered: a failed write reports its own errno, not a later flush.
    QSaveFile file(path);
    errno = 0;
    if (!file.open(QIODevice::WriteOnly | QIODevice::Unbuffered)) {
        *error = QStringLiteral("cannot create %1: %2").arg(path, reason(path, file, errno));
        return false;
    }
    errno = 0;
    if (file.write(data) != data.size()) {
        *error = QStringLiteral("cannot write %1: %2").arg(path, reason(path, file, errno));
        return false; // QSaveFile removes its temporary file
    }
    errno = 0;
    if (!file.commit()) {
        *error = QStringLiteral("cannot write %1: %2").arg(path, reason(path, file, errno));
        return false;
    }
    return true;
}

} // namespace surfing
