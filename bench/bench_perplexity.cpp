// Perplexity of a decoder chunk directory on a text (issue 13: the accuracy cost of q8_0 / q4_0).
//
//   bench_perplexity CHUNK_DIR TEXT [--ids-out FILE] [--ids-in FILE]
//
// TEXT holds stories separated by blank lines. Each story is encoded with the chunk directory's
// tokenizer (BOS first) and scored on its own, teacher-forced in one forward pass: the negative
// log-likelihood of every token after BOS given the ones before it. Perplexity = exp(mean NLL)
// over all scored tokens of all stories. --ids-out writes the ids (one story per line, comma
// separated) so llama.cpp can score the very same ids (bench/peer/llperplexity.c); --ids-in reads
// such a file instead of encoding TEXT. Prints one JSON line.
#include "client/localchunksource.h"
#include "format/modelconfig.h"
#include "inference/decodermodel.h"
#include "inference/weightstream.h"
#include "tokenizer/tokenizer.h"

#include <QCoreApplication>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QTextStream>
#include <cmath>
#include <cstdio>

using namespace surfing;

namespace {

QVector<QVector<qint64>> storiesAsIds(const QString &chunkDir, const QString &textPath)
{
    QFile f(textPath);
    if (!f.open(QIODevice::ReadOnly))
        throw std::runtime_error("cannot read " + textPath.toStdString());
    const QString text = QString::fromUtf8(f.readAll());
    const auto tokenizer = Tokenizer::load(chunkDir);
    QVector<QVector<qint64>> stories;
    for (const QString &story : text.split(QRegularExpression(QStringLiteral("\\n\\s*\\n")), Qt::SkipEmptyParts)) {
        const QString trimmed = story.trimmed();
        if (!trimmed.isEmpty())
            stories.append(tokenizer->encode(trimmed.simplified(), true).ids);
    }
    return stories;
}

QVector<QVector<qint64>> readIds(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        throw std::runtime_error("cannot read " + path.toStdString());
    QVector<QVector<qint64>> stories;
    for (const QByteArray &line : f.readAll().split('\n')) {
        if (line.trimmed().isEmpty())
            continue;
        QVector<qint64> ids;
        for (const QByteArray &id : line.split(','))
            ids.append(id.trimmed().toLongLong());
        stories.append(ids);
    }
    return stories;
}

void writeIds(const QString &path, const QVector<QVector<qint64>> &stories)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly))
        throw std::runtime_error("cannot write " + path.toStdString());
    for (const QVector<qint64> &ids : stories) {
        QStringList parts;
        for (qint64 id : ids)
            parts << QString::number(id);
        f.write(parts.join(QLatin1Char(',')).toUtf8() + '\n');
    }
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() < 3) {
        std::fprintf(stderr, "usage: bench_perplexity CHUNK_DIR TEXT [--ids-out FILE] [--ids-in FILE]\n");
        return 2;
    }
    try {
        const QString dir = args[1];
        const int idsIn = args.indexOf(QStringLiteral("--ids-in")), idsOut = args.indexOf(QStringLiteral("--ids-out"));
        const QVector<QVector<qint64>> stories = idsIn > 0 ? readIds(args.value(idsIn + 1)) : storiesAsIds(dir, args[2]);
        if (idsOut > 0)
            writeIds(args.value(idsOut + 1), stories);

        LocalChunkSource source(dir);
        WeightStream stream(source, 1);
        auto model = makeDecoderModel(ModelConfig::load(dir));
        double nll = 0;
        qint64 scored = 0;
        for (const QVector<qint64> &ids : stories) {
            if (ids.size() < 2)
                continue;
            const std::vector<int64_t> v(ids.begin(), ids.end());
            const at::Tensor input = at::tensor(v, at::kLong).view({1, -1});
            const DecoderOutput out = model->forward(stream, DecoderModel::inputFor(input, nullptr), nullptr, {});
            const at::Tensor logp = at::log_softmax(out.logits[0].to(at::kDouble), -1); // [T, vocab]
            const at::Tensor next = input[0].narrow(0, 1, ids.size() - 1);
            nll -= logp.narrow(0, 0, ids.size() - 1).gather(1, next.unsqueeze(1)).sum().item<double>();
            scored += ids.size() - 1;
        }
        const QJsonObject result{{"chunks", dir}, {"dtype", source.manifest().dtype}, {"stories", stories.size()},
                                 {"tokens_scored", scored}, {"mean_nll", nll / double(scored)},
                                 {"perplexity", std::exp(nll / double(scored))}};
        std::printf("%s\n", QJsonDocument(result).toJson(QJsonDocument::Compact).constData());
    } catch (const std::exception &e) {
        std::fprintf(stderr, "bench_perplexity: %s\n", e.what());
        return 1;
    }
    return 0;
}
