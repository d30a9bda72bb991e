#include "clienttestdata.h"

#include "format/chunkcodec.h"
#include "testsupport.h"

#include <QDir>
#include <QFile>

namespace surfing::test {

ExpectedChunks loadExpectedChunks(const QString &chunkDir)
{
    ExpectedChunks e;
    e.manifest = ChunkManifest::load(chunkDir);
    for (const ManifestChunk &c : e.manifest.chunks) {
        const QByteArray stored = readFile(chunkDir + QLatin1Char('/') + c.file);
        e.decoded.insert(c.name, decodeChunk(stored, c.codec, c.rawBytes, c.file));
    }
    return e;
}

bool corruptFile(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadWrite) || file.size() < 2)
        return false;
    const qint64 at = file.size() / 2;
    file.seek(at);
    char c = 0;
    file.getChar(&c);
    file.seek(at);
    return file.putChar(char(c ^ 0x5a));
}

bool copyDir(const QString &from, const QString &to)
{
    if (!QDir().mkpath(to))
        return false;
    for (const QString &name : QDir(from).entryList(QDir::Files)) {
        if (!QFile::copy(from + QLatin1Char('/') + name, to + QLatin1Char('/') + name))
            return false;
    }
    return true;
}

} // namespace surfing::test
