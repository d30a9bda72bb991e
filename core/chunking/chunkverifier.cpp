#include "chunking/chunkverifier.h"

#include "base/error.h"
#include "client/chunkverifier.h"
#include "format/quant.h"
#include "format/safetensors.h"

#include <QDir>
#include <QFile>

namespace surfing {
namespace {

QString describeTensor(const QString &name, Dtype dtype, const QVector<qint64> &shape)
{
    QStringList dims;
    for (qint64 d : shape)
        dims << QString::number(d);
    return QStringLiteral("%1 %2[%3]").arg(name, dtypeName(dtype), dims.join(QLatin1Char(',')));
}

void compareTensors(const ManifestChunk &chunk, const SafetensorsHeader &header)
{
    if (header.tensors.size() != chunk.tensors.size())
        throw Error(QStringLiteral("chunk '%1' holds %2 tensors, the manifest lists %3")
                        .arg(chunk.name).arg(header.tensors.size()).arg(chunk.tensors.size()));
    for (const ManifestTensor &expected : chunk.tensors) {
        const TensorInfo *found = header.find(expected.name);
        if (!found || found->dtype != expected.dtype || found->shape != expected.shape)
            throw Error(QStringLiteral("chunk '%1': tensor %2 does not match the file")
                            .arg(chunk.name, describeTensor(expected.name, expected.dtype, expected.shape)));
    }
}

ChunkCheck checkChunkFile(const QDir &dir, const ManifestChunk &chunk)
{
    ChunkCheck check{chunk.name, true, {}};
    try {
        QFile file(dir.filePath(chunk.file));
        if (!file.open(QIODevice::ReadOnly))
            throw Error(QStringLiteral("chunk '%1': cannot read %2: %3").arg(chunk.name, chunk.file, file.errorString()));
        if (file.size() != chunk.storedBytes)
            throw Error(QStringLiteral("chunk '%1': %2 is %3 bytes, the manifest says %4")
                            .arg(chunk.name, chunk.file).arg(file.size()).arg(chunk.storedBytes));
        checkChunkBytes(chunk, file.readAll(), dir.path());
    } catch (const Error &e) {
        check.ok = false;
        check.problem = e.message();
    }
    return check;
}

ChunkCheck checkModelFile(const QDir &dir, const ManifestFile &file)
{
    ChunkCheck check{file.name, true, {}};
    try {
        if (!QFileInfo::exists(dir.filePath(file.name)))
            throw Error(QStringLiteral("file '%1' listed in the manifest is missing").arg(file.name));
        verifyModelFileAt(dir.filePath(file.name), file, dir.path());
    } catch (const Error &e) {
        check.ok = false;
        check.problem = e.message();
    }
    return check;
}

} // namespace

bool VerifyReport::ok() const
{
    return failures() == 0;
}

int VerifyReport::failures() const
{
    return int(std::count_if(checks.begin(), checks.end(), [](const ChunkCheck &c) { return !c.ok; }));
}

QByteArray checkChunkBytes(const ManifestChunk &chunk, const QByteArray &stored, const QString &origin)
{
    const QByteArray raw = verifyAndDecodeChunk(stored, chunk, origin);
    const QString source = QStringLiteral("chunk '%1'").arg(chunk.name);
    const SafetensorsHeader header = parseSafetensors(raw, source);
    compareTensors(chunk, header);
    quant::checkQuantizedTensors(header, raw, source);
    return raw;
}

VerifyReport verifyChunkDir(const QString &dirPath, const std::function<void(int, int)> &progress)
{
    VerifyReport report;
    report.manifest = ChunkManifest::load(dirPath);
    const QDir dir(dirPath);
    const int total = report.manifest.chunks.size();
    for (const ManifestChunk &chunk : report.manifest.chunks) {
        report.checks.append(checkChunkFile(dir, chunk));
        if (progress)
            progress(report.checks.size(), total);
    }
    for (const ManifestFile &file : report.manifest.files)
        report.checks.append(checkModelFile(dir, file));
    return report;
}

} // namespace surfing
