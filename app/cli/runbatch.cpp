#include "runbatch.h"

#include "command.h"

#include "base/error.h"
#include "base/files.h"
#include "inference/inferencesession.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace surfing::cli {
namespace {

constexpr qint64 kMaxPromptsFileBytes = qint64(64) << 20;

BatchPrompt parseJsonLine(const QByteArray &line, int number, const QString &path)
{
    const auto bad = [&](const QString &what) {
        return Error(QStringLiteral("%1:%2: %3").arg(path).arg(number).arg(what));
    };
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(line, &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject())
        throw bad(QStringLiteral("not a JSON object (%1); write {\"prompt\": \"text\"} or {\"ids\": [1, 2]}").arg(error.errorString()));
    const QJsonObject o = doc.object();
    BatchPrompt p;
    p.line = number;
    if (o.contains(QLatin1String("prompt")) == o.contains(QLatin1String("ids")))
        throw bad(QStringLiteral("give exactly one of \"prompt\" and \"ids\""));
    if (o.contains(QLatin1String("prompt"))) {
        if (!o.value(QLatin1String("prompt")).isString())
            throw bad(QStringLiteral("\"prompt\" must be a string"));
        p.text = o.value(QLatin1String("prompt")).toString();
        return p;
    }
    const QJsonValue idsValue = o.value(QLatin1String("ids"));
    if (!idsValue.isArray() || idsValue.toArray().isEmpty())
        throw bad(QStringLiteral("\"ids\" must be a non-empty array of token ids"));
    QVector<qint64> ids;
    for (const QJsonValue &v : idsValue.toArray()) {
        const double d = v.toDouble(-1);
        if (!v.isDouble() || d < 0 || d > 9e15 || d != double(qint64(d)))
            throw bad(QStringLiteral("\"ids\" holds something that is not a non-negative whole number"));
        ids.append(qint64(d));
    }
    p.ids = ids;
    return p;
}

QJsonArray idsJson(const QVector<qint64> &ids)
{
    QJsonArray a;
    for (qint64 id : ids)
        a.append(double(id));
    return a;
}

// Totals over the batches: tokens/s and bytes per token of the whole file.
QJsonObject totals(const QVector<InferenceStats> &batches)
{
    qint64 tokens = 0, firstTokens = 0, totalNs = 0, decodeNs = 0, bytes = 0, decodeBytes = 0;
    for (const InferenceStats &s : batches) {
        tokens += s.newTokens;
        firstTokens += qMin(s.newTokens, s.batch);
        totalNs += s.totalNs;
        decodeNs += s.totalNs - s.timeToFirstTokenNs;
        bytes += s.bytesFetched;
        decodeBytes += s.decodeBytesFetched;
    }
    const qint64 decodeTokens = tokens - firstTokens;
    return QJsonObject{
        {"new_tokens", double(tokens)},
        {"total_ms", totalNs / 1e6},
        {"tokens_per_second", totalNs > 0 ? tokens / (totalNs / 1e9) : 0.0},
        {"decode_tokens_per_second", decodeNs > 0 ? decodeTokens / (decodeNs / 1e9) : 0.0},
        {"bytes_fetched", double(bytes)},
        {"bytes_per_token", decodeTokens > 0 ? double(decodeBytes) / decodeTokens : 0.0},
        {"fetch_bytes_per_second", decodeNs > 0 ? decodeBytes / (decodeNs / 1e9) : 0.0},
    };
}

} // namespace

QVector<BatchPrompt> readPromptsFile(const QString &path)
{
    const QByteArray bytes = readRegularFile(path, kMaxPromptsFileBytes);
    QVector<BatchPrompt> prompts;
    int number = 0;
    for (QByteArray line : bytes.split('\n')) {
        ++number;
        if (line.endsWith('\r'))
            line.chop(1);
        if (line.trimmed().isEmpty())
            continue;
        if (line.trimmed().startsWith('{')) {
            prompts.append(parseJsonLine(line, number, path));
            continue;
        }
        BatchPrompt p;
        p.line = number;
        p.text = QString::fromUtf8(line);
        prompts.append(p);
    }
    if (prompts.isEmpty())
        throw Error(QStringLiteral("%1 holds no prompts (one per line, or JSON lines {\"prompt\": ...})").arg(path));
    return prompts;
}

int runPromptBatches(InferenceSession &session, const QVector<BatchPrompt> &prompts, int batch, bool json)
{
    QVector<QVector<qint64>> ids;
    for (const BatchPrompt &p : prompts) {
        if (p.ids) {
            ids.append(*p.ids);
            continue;
        }
        try {
            ids.append(session.encode(p.text));
        } catch (const Error &e) {
            throw Error(QStringLiteral("prompt of line %1: %2").arg(p.line).arg(e.message()));
        }
    }
    QJsonArray results;
    QVector<InferenceStats> batches;
    QJsonArray batchStats;
    for (int from = 0; from < ids.size(); from += batch) {
        const QVector<QVector<qint64>> group = ids.mid(from, batch);
        const InferenceSession::BatchResult r = session.runBatch(group);
        batches.append(r.stats);
        QJsonObject stats = r.stats.toJson();
        if (json)
            stats.insert(QLatin1String("timeline"), timelineJson(r.timeline));
        batchStats.append(stats);
        if (!json)
            printErr(QStringLiteral("batch of %1 (prompts %2-%3): ").arg(group.size()).arg(from + 1).arg(from + group.size())
                     + r.stats.summary());
        for (int i = 0; i < r.results.size(); ++i) {
            const InferenceResult &one = r.results[i];
            if (json)
                results.append(QJsonObject{{"line", prompts[from + i].line}, {"prompt_ids", idsJson(one.promptIds)},
                                           {"ids", idsJson(one.newIds)}, {"text", one.text}});
            else
                // One line per prompt: a newline inside a continuation is written as \n.
                printOut(session.hasTokenizer() ? QString(one.text).replace(QLatin1Char('\n'), QLatin1String("\\n"))
                                                : [&] {
                                                      QStringList s;
                                                      for (qint64 id : one.newIds)
                                                          s << QString::number(id);
                                                      return s.join(QLatin1Char(' '));
                                                  }());
        }
    }
    if (json)
        printOut(QString::fromUtf8(QJsonDocument(QJsonObject{{"batch", batch}, {"results", results}, {"batches", batchStats},
                                                             {"stats", totals(batches)}})
                                       .toJson(QJsonDocument::Compact)));
    else
        printErr(QStringLiteral("all: ") + QString::fromUtf8(QJsonDocument(totals(batches)).toJson(QJsonDocument::Compact)));
    return ExitSuccess;
}

} // namespace surfing::cli
