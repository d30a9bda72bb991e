// surfing-cli verify DIR: re-hash and decode every chunk; name each bad one.
#include "command.h"
#include "progressbar.h"

#include "chunking/chunkverifier.h"

#include <QJsonArray>
#include <algorithm>
#include <QJsonDocument>
#include <QJsonObject>

namespace surfing::cli {
namespace {

QJsonObject reportJson(const VerifyReport &report)
{
    QJsonArray checks;
    for (const ChunkCheck &c : report.checks)
        checks.append(QJsonObject{{"name", c.chunk}, {"ok", c.ok}, {"problem", c.problem}});
    return QJsonObject{{"model_name", report.manifest.modelName},
                       {"ok", report.ok()},
                       {"chunks", report.manifest.chunks.size()},
                       {"failures", report.failures()},
                       {"checks", checks}};
}

int runVerify(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.addPositionalArgument(QStringLiteral("DIR"), QStringLiteral("A chunk directory written by 'surfing-cli chunk' or 'surfing-cli fetch'."));
    parser.addOption({QStringLiteral("json"), QStringLiteral("Print the result as one JSON document.")});
    const int parsed = parseArguments(parser, arguments,
        QStringLiteral("Check every chunk of a chunk directory: size, SHA-256, decompression and tensor list.\n"
                       "Exits 1 and names each bad chunk if any is damaged."));
    if (parsed >= 0)
        return parsed;
    if (parser.positionalArguments().size() != 1)
        return usageError(QStringLiteral("verify needs exactly one DIR"));

    const bool json = parser.isSet(QStringLiteral("json"));
    VerifyReport report;
    {
        ProgressBar bar(QStringLiteral("verifying"));
        report = verifyChunkDir(parser.positionalArguments().first(), [&](int done, int total) { bar.update(done, total); });
    }
    const bool unchecked = std::any_of(report.manifest.files.begin(), report.manifest.files.end(),
                                       [](const ManifestFile &f) { return !f.hasChecksum(); });
    if (unchecked)
        printErr(QStringLiteral("warning: this chunk_info.json (format 1) has no checksums for config.json and the "
                                "tokenizer files, so they were not verified; re-chunk the model to protect them"));
    if (json) {
        printOut(QString::fromUtf8(QJsonDocument(reportJson(report)).toJson(QJsonDocument::Indented)));
    } else {
        for (const ChunkCheck &c : report.checks) {
            if (!c.ok)
                printErr(QStringLiteral("BAD %1: %2").arg(c.chunk, c.problem));
        }
        printOut(report.ok() ? QStringLiteral("OK: %1 chunks of %2 verified").arg(report.manifest.chunks.size()).arg(report.manifest.modelName)
                             : QStringLiteral("FAILED: %1 of %2 checks failed").arg(report.failures()).arg(report.checks.size()));
    }
    return report.ok() ? ExitSuccess : ExitFailure;
}

} // namespace

SURFING_CLI_COMMAND(verify, "verify", "Re-hash and decode every chunk of a chunk directory.", runVerify);

} // namespace surfing::cli
