// surfing-cli inspect PATH: what a model directory or a chunk directory holds.
#include "command.h"
#include "progressbar.h"

#include "chunking/chunkplanner.h"
#include "format/checkpoint.h"
#include "format/chunkmanifest.h"
#include "format/hubcache.h"

#include <QFileInfo>
#include <QMap>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace surfing::cli {
namespace {

struct Row {
    QString name;
    int tensors = 0;
    qint64 stored = 0;
    qint64 raw = 0;
    QString codec;
    QString sha256;
};

struct Overview {
    QString kind; // "chunk directory" or "model directory"
    QString modelName, modelType, detail;
    int layers = 0;
    QVector<Row> rows;
};

// "Q4_0 x36, F32 x11": how many tensors of each dtype (quantized chunks keep norms and odd shapes).
QString tensorDtypes(const ChunkManifest &m)
{
    QMap<QString, int> counts;
    for (const ManifestChunk &c : m.chunks)
        for (const ManifestTensor &t : c.tensors)
            ++counts[dtypeName(t.dtype)];
    QStringList parts;
    for (auto it = counts.begin(); it != counts.end(); ++it)
        parts << QStringLiteral("%1 x%2").arg(it.key()).arg(it.value());
    return parts.join(QLatin1String(", "));
}

Overview inspectChunks(const QString &path)
{
    const ChunkManifest m = ChunkManifest::load(path);
    Overview o{QStringLiteral("chunk directory"), m.modelName, m.modelType,
               QStringLiteral("codec %1%2, dtype %3 (tensors: %4)").arg(codecName(m.codec), m.level ? QStringLiteral(" level %1").arg(m.level) : QString(), m.dtype, tensorDtypes(m)),
               m.numLayers, {}};
    for (const ManifestChunk &c : m.chunks)
        o.rows.append({c.name, int(c.tensors.size()), c.storedBytes, c.rawBytes, codecName(c.codec), QString::fromLatin1(c.sha256)});
    return o;
}

Overview inspectModel(const QString &path)
{
    const QFileInfo info(path);
    const QString dir = info.isDir() ? info.absoluteFilePath() : info.absolutePath();
    const ModelConfig config = ModelConfig::load(dir);
    const auto checkpoint = Checkpoint::open(path);
    const ChunkPlan plan = planChunks(config, *checkpoint);
    Overview o{QStringLiteral("model directory"), modelNameOfDir(dir), config.modelType,
               QStringLiteral("%1, %2 tensors, %3 tied copies").arg(checkpoint->layout()).arg(checkpoint->tensorNames().size()).arg(plan.tiedAliases.size()),
               config.numLayers, {}};
    for (const PlannedChunk &c : plan.chunks) {
        Row row{c.name, int(c.tensors.size()), 0, 0, QStringLiteral("(planned)"), {}};
        for (const PlannedTensor &t : c.tensors)
            row.raw += checkpoint->info(t.source).byteSize();
        row.stored = row.raw;
        o.rows.append(row);
    }
    return o;
}

QString ratio(const Row &r)
{
    return r.stored > 0 ? QString::number(double(r.raw) / double(r.stored), 'f', 2) : QStringLiteral("-");
}

void printTable(const Overview &o)
{
    printOut(QStringLiteral("%1: %2 (%3), %4 layers; %5").arg(o.kind, o.modelName, o.modelType).arg(o.layers).arg(o.detail));
    printOut(QStringLiteral("%1 %2 %3 %4 %5  %6").arg(QStringLiteral("chunk").leftJustified(28), QStringLiteral("tensors").rightJustified(7),
                                                   QStringLiteral("stored").rightJustified(11), QStringLiteral("raw").rightJustified(11),
                                                   QStringLiteral("ratio").rightJustified(6), QStringLiteral("sha256")));
    qint64 stored = 0, raw = 0;
    for (const Row &r : o.rows) {
        printOut(QStringLiteral("%1 %2 %3 %4 %5  %6").arg(r.name.leftJustified(28)).arg(r.tensors, 7)
                     .arg(formatBytes(r.stored).rightJustified(11), formatBytes(r.raw).rightJustified(11), ratio(r).rightJustified(6), r.sha256.left(16)));
        stored += r.stored;
        raw += r.raw;
    }
    const Row total{QStringLiteral("total"), 0, stored, raw, {}, {}};
    printOut(QStringLiteral("%1 %2 %3 %4 %5").arg(QStringLiteral("total").leftJustified(28), QString(7, QLatin1Char(' ')),
                                                formatBytes(stored).rightJustified(11), formatBytes(raw).rightJustified(11), ratio(total).rightJustified(6)));
}

QJsonObject overviewJson(const Overview &o)
{
    QJsonArray rows;
    for (const Row &r : o.rows)
        rows.append(QJsonObject{{"name", r.name}, {"tensors", r.tensors}, {"stored_bytes", r.stored},
                                {"raw_bytes", r.raw}, {"codec", r.codec}, {"sha256", r.sha256}});
    return QJsonObject{{"kind", o.kind}, {"model_name", o.modelName}, {"model_type", o.modelType},
                       {"num_layers", o.layers}, {"detail", o.detail}, {"chunks", rows}};
}

int runInspect(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.addPositionalArgument(QStringLiteral("PATH"), QStringLiteral("A chunk directory, a Hugging Face model directory, or a hub name ORG/NAME[@REVISION] "
                                                                  "in the local Hugging Face cache (a local path wins)."));
    parser.addOption({QStringLiteral("json"), QStringLiteral("Print the result as one JSON document.")});
    const int parsed = parseArguments(parser, arguments,
        QStringLiteral("Show a model or chunk directory: type, layers, and a table of chunks with sizes and ratios.\n"
                       "For a model directory the table shows the chunks 'surfing-cli chunk' would write."));
    if (parsed >= 0)
        return parsed;
    if (parser.positionalArguments().size() != 1)
        return usageError(QStringLiteral("inspect needs exactly one PATH"));
    const QString path = resolveModelLocation(parser.positionalArguments().first());
    const bool isChunkDir = QFileInfo::exists(path + QLatin1Char('/') + QLatin1String(kManifestFileName));
    const Overview overview = isChunkDir ? inspectChunks(path) : inspectModel(path);
    if (parser.isSet(QStringLiteral("json")))
        printOut(QString::fromUtf8(QJsonDocument(overviewJson(overview)).toJson(QJsonDocument::Indented)));
    else
        printTable(overview);
    return ExitSuccess;
}

} // namespace

SURFING_CLI_COMMAND(inspect, "inspect", "Show what a model or chunk directory holds.", runInspect);

} // namespace surfing::cli
