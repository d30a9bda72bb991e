#include "jsonpostprocessor.h"

#include "base/error.h"

#include <QHash>
#include <QJsonArray>
#include <QJsonObject>

namespace surfing {

namespace {

// One item of a template: a special token (its encoding) or sequence A/B, with a token type.
struct TemplatePiece {
    Encoding special;
    int sequence = -1;  // 0 = A, 1 = B, -1 = special token
    qint64 typeId = 0;
};
using Template = QVector<TemplatePiece>;

Encoding withTypeId(Encoding encoding, qint64 typeId)
{
    encoding.tokenTypeIds.fill(typeId);
    return encoding;
}

Encoding specialEncoding(const QStringList &tokens, const QVector<qint64> &ids)
{
    Encoding encoding;
    encoding.ids = ids;
    encoding.tokens = tokens;
    encoding.tokenTypeIds.fill(0, ids.size());
    encoding.attentionMask.fill(1, ids.size());
    return encoding;
}

PostProcessor fromTemplates(const Template &single, const Template &pair)
{
    return [=](const Encoding &first, const Encoding *second, bool addSpecialTokens) {
        Encoding result;
        for (const TemplatePiece &piece : second ? pair : single) {
            if (piece.sequence < 0) {
                if (addSpecialTokens)
                    result.append(withTypeId(piece.special, piece.typeId));
            } else if (piece.sequence == 0 || second) {
                result.append(withTypeId(piece.sequence == 0 ? first : *second, piece.typeId));
            }
        }
        return result;
    };
}

Template parseTemplate(const QJsonArray &items, const QHash<QString, Encoding> &specials, const QString &file)
{
    Template result;
    for (const QJsonValue &item : items) {
        const QJsonObject object = item.toObject();
        TemplatePiece piece;
        if (object.contains(QStringLiteral("Sequence"))) {
            const QJsonObject sequence = object.value(QStringLiteral("Sequence")).toObject();
            piece.sequence = sequence.value(QStringLiteral("id")).toString() == QLatin1String("B") ? 1 : 0;
            piece.typeId = sequence.value(QStringLiteral("type_id")).toInteger();
        } else {
            const QJsonObject special = object.value(QStringLiteral("SpecialToken")).toObject();
            const QString name = special.value(QStringLiteral("id")).toString();
            if (!specials.contains(name))
                throw Error(QStringLiteral("%1: post_processor TemplateProcessing uses unknown special token \"%2\"")
                                .arg(file, name));
            piece.special = specials.value(name);
            piece.typeId = special.value(QStringLiteral("type_id")).toInteger();
        }
        result.append(piece);
    }
    return result;
}

PostProcessor templateProcessing(const QJsonObject &spec, const QString &file)
{
    QHash<QString, Encoding> specials;
    const QJsonObject specialTokens = spec.value(QStringLiteral("special_tokens")).toObject();
    for (auto it = specialTokens.begin(); it != specialTokens.end(); ++it) {
        const QJsonObject token = it.value().toObject();
        QVector<qint64> ids;
        for (const QJsonValue &id : token.value(QStringLiteral("ids")).toArray())
            ids.append(id.toInteger());
        QStringList tokens;
        for (const QJsonValue &name : token.value(QStringLiteral("tokens")).toArray())
            tokens.append(name.toString());
        if (tokens.size() != ids.size())
            throw Error(QStringLiteral("%1: post_processor special token \"%2\" has %3 ids but %4 tokens")
                            .arg(file, it.key()).arg(ids.size()).arg(tokens.size()));
        specials.insert(it.key(), specialEncoding(tokens, ids));
    }
    return fromTemplates(parseTemplate(spec.value(QStringLiteral("single")).toArray(), specials, file),
                         parseTemplate(spec.value(QStringLiteral("pair")).toArray(), specials, file));
}

// BertProcessing / RobertaProcessing: {"cls": ["[CLS]", 101], "sep": ["[SEP]", 102]}.
PostProcessor clsSepProcessing(const QJsonObject &spec, bool doubleSeparator)
{
    auto token = [&](const char *key) {
        const QJsonArray pair = spec.value(QLatin1String(key)).toArray();
        return specialEncoding({pair.at(0).toString()}, {pair.at(1).toInteger()});
    };
    const TemplatePiece cls {token("cls"), -1, 0};
    const TemplatePiece sep {token("sep"), -1, 0};
    const Template single = {cls, {{}, 0, 0}, sep};
    Template pair = single;
    if (doubleSeparator)
        pair.append(sep);
    pair += {{{}, 1, 1}, {sep.special, -1, 1}};
    return fromTemplates(single, pair);
}

Encoding concatenate(const Encoding &first, const Encoding *second, bool)
{
    Encoding result = first;
    if (second)
        result.append(withTypeId(*second, 1));
    return result;
}

// ByteLevel processors only adjust offsets, which Encoding does not keep; of the others, the
// last one decides (real files have at most one, e.g. [ByteLevel, TemplateProcessing]).
PostProcessor sequence(const QJsonObject &spec, const QString &file)
{
    PostProcessor decisive = concatenate;
    for (const QJsonValue &step : spec.value(QStringLiteral("processors")).toArray()) {
        if (step.toObject().value(QStringLiteral("type")).toString() != QLatin1String("ByteLevel"))
            decisive = makePostProcessor(step, file);
    }
    return decisive;
}

} // namespace

PostProcessor makePostProcessor(const QJsonValue &specValue, const QString &file)
{
    if (specValue.isNull() || specValue.isUndefined())
        return concatenate;
    const QJsonObject spec = specValue.toObject();
    const QString type = spec.value(QStringLiteral("type")).toString();
    if (type == QLatin1String("TemplateProcessing"))
        return templateProcessing(spec, file);
    if (type == QLatin1String("BertProcessing"))
        return clsSepProcessing(spec, false);
    if (type == QLatin1String("RobertaProcessing"))
        return clsSepProcessing(spec, true);
    if (type == QLatin1String("ByteLevel"))
        return concatenate;
    if (type == QLatin1String("Sequence"))
        return sequence(spec, file);
    throw Error(QStringLiteral("%1: unsupported post_processor type \"%2\"").arg(file, type));
}

PostProcessor makeBosEosProcessor(const Encoding &bos, const Encoding &eos)
{
    auto around = [&](int sequence) {
        Template pieces;
        if (!bos.ids.isEmpty())
            pieces.append({bos, -1, sequence});
        pieces.append({{}, sequence, sequence});
        if (!eos.ids.isEmpty())
            pieces.append({eos, -1, sequence});
        return pieces;
    };
    return fromTemplates(around(0), around(0) + around(1));
}

} // namespace surfing
