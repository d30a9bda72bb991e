#include "jsonmodel.h"

#include "base/error.h"
#include "bpemodel.h"
#include "wordpiecemodel.h"

#include <QJsonArray>
#include <QJsonObject>
#include <memory>

namespace surfing {

namespace {

// Merges are "left right" strings (older files) or ["left", "right"] arrays (newer ones).
QVector<BpeMerge> readMerges(const QJsonArray &items, const QString &file)
{
    QVector<BpeMerge> merges;
    merges.reserve(items.size());
    for (const QJsonValue &item : items) {
        if (item.isArray() && item.toArray().size() == 2) {
            merges.append({item.toArray().at(0).toString(), item.toArray().at(1).toString()});
            continue;
        }
        const QStringList parts = item.toString().split(QLatin1Char(' '));
        if (parts.size() != 2)
            throw Error(QStringLiteral("%1: model.merges has an invalid entry").arg(file));
        merges.append({parts[0], parts[1]});
    }
    return merges;
}

JsonModel bpe(const QJsonObject &spec, const Vocabulary &vocabulary, const QString &file)
{
    // Dropout skips merges at random: for training, never what a model was trained to read.
    const double dropout = spec.value(QStringLiteral("dropout")).toDouble(0.0);
    if (dropout > 0.0)
        throw Error(QStringLiteral("%1: model.dropout %2 is not supported (BPE dropout makes tokenization random)")
                        .arg(file).arg(dropout));
    BpeOptions options;
    options.unkToken = spec.value(QStringLiteral("unk_token")).toString();
    options.fuseUnk = spec.value(QStringLiteral("fuse_unk")).toBool(false);
    options.byteFallback = spec.value(QStringLiteral("byte_fallback")).toBool(false);
    options.ignoreMerges = spec.value(QStringLiteral("ignore_merges")).toBool(false);
    options.continuingSubwordPrefix = spec.value(QStringLiteral("continuing_subword_prefix")).toString();
    options.endOfWordSuffix = spec.value(QStringLiteral("end_of_word_suffix")).toString();
    const auto model = std::make_shared<const BpeModel>(
        vocabulary, readMerges(spec.value(QStringLiteral("merges")).toArray(), file), options, file);
    return {vocabulary, [model](const QString &word) { return model->tokenize(word); }};
}

JsonModel wordPiece(const QJsonObject &spec, const Vocabulary &vocabulary)
{
    WordPieceOptions options;
    options.unkToken = spec.value(QStringLiteral("unk_token")).toString(options.unkToken);
    options.continuingSubwordPrefix =
        spec.value(QStringLiteral("continuing_subword_prefix")).toString(options.continuingSubwordPrefix);
    options.maxInputCharsPerWord =
        spec.value(QStringLiteral("max_input_chars_per_word")).toInt(options.maxInputCharsPerWord);
    const auto model = std::make_shared<const WordPieceModel>(vocabulary, options);
    return {vocabulary, [model](const QString &word) { return model->tokenize(word); }};
}

JsonModel wordLevel(const QJsonObject &spec, const Vocabulary &vocabulary)
{
    const std::optional<qint64> unkId = vocabulary.id(spec.value(QStringLiteral("unk_token")).toString());
    return {vocabulary, [vocabulary, unkId](const QString &word) {
                const std::optional<qint64> id = vocabulary.id(word);
                if (id)
                    return QVector<qint64> {*id};
                return unkId ? QVector<qint64> {*unkId} : QVector<qint64> {};
            }};
}

} // namespace

JsonModel makeModel(const QJsonValue &specValue, const QString &file)
{
    const QJsonObject spec = specValue.toObject();
    if (!spec.value(QStringLiteral("vocab")).isObject())
        throw Error(QStringLiteral("%1: model.vocab is missing or not an object").arg(file));
    const Vocabulary vocabulary =
        Vocabulary::fromJsonObject(spec.value(QStringLiteral("vocab")).toObject(), file + QStringLiteral(" model.vocab"));
    // Old files leave "type" out of BPE models.
    const QString type = spec.value(QStringLiteral("type")).toString(
        spec.contains(QStringLiteral("merges")) ? QStringLiteral("BPE") : QString());
    if (type == QLatin1String("BPE"))
        return bpe(spec, vocabulary, file);
    if (type == QLatin1String("WordPiece"))
        return wordPiece(spec, vocabulary);
    if (type == QLatin1String("WordLevel"))
        return wordLevel(spec, vocabulary);
    throw Error(QStringLiteral("%1: unsupported model type \"%2\" (Unigram models are not supported)")
                    .arg(file, type));
}

} // namespace surfing
