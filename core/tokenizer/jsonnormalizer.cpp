#include "jsonnormalizer.h"

#include "base/error.h"
#include "bertbasictokenizer.h"
#include "jsonpattern.h"
#include "unicodenormalization.h"

#include <QJsonArray>
#include <QJsonObject>

namespace surfing {

namespace {

Normalizer sequence(const QJsonObject &spec, const QString &file)
{
    QVector<Normalizer> steps;
    for (const QJsonValue &step : spec.value(QStringLiteral("normalizers")).toArray())
        steps.append(makeNormalizer(step, file));
    return [steps](const QString &text) {
        QString result = text;
        for (const Normalizer &step : steps)
            result = step(result);
        return result;
    };
}

Normalizer prepend(const QJsonObject &spec)
{
    const QString prefix = spec.value(QStringLiteral("prepend")).toString();
    return [prefix](const QString &text) { return text.isEmpty() ? text : prefix + text; };
}

Normalizer replace(const QJsonObject &spec, const QString &file)
{
    const JsonPattern pattern = JsonPattern::parse(spec.value(QStringLiteral("pattern")), file,
                                                   QStringLiteral("normalizer Replace"));
    const QString content = spec.value(QStringLiteral("content")).toString();
    return [pattern, content](const QString &text) { return pattern.replaceAll(text, content); };
}

Normalizer strip(const QJsonObject &spec)
{
    const bool left = spec.value(QStringLiteral("strip_left")).toBool(true);
    const bool right = spec.value(QStringLiteral("strip_right")).toBool(true);
    return [left, right](const QString &text) {
        qsizetype begin = 0;
        qsizetype end = text.size();
        while (left && begin < end && text[begin].isSpace())
            ++begin;
        while (right && end > begin && text[end - 1].isSpace())
            --end;
        return text.mid(begin, end - begin);
    };
}

Normalizer unicodeForm(QString::NormalizationForm form)
{
    return [form](const QString &text) { return normalizeUnicode(text, form); };
}

Normalizer bertNormalizer(const QJsonObject &spec)
{
    BertBasicOptions options;
    options.cleanText = spec.value(QStringLiteral("clean_text")).toBool(true);
    options.tokenizeChineseChars = spec.value(QStringLiteral("handle_chinese_chars")).toBool(true);
    options.lowerCase = spec.value(QStringLiteral("lowercase")).toBool(true);
    const QJsonValue stripAccents = spec.value(QStringLiteral("strip_accents"));
    if (stripAccents.isBool())
        options.stripAccents = stripAccents.toBool();
    const BertBasicTokenizer bert(options);
    return [bert](const QString &text) { return bert.normalize(text); };
}

} // namespace

Normalizer makeNormalizer(const QJsonValue &specValue, const QString &file)
{
    if (specValue.isNull() || specValue.isUndefined())
        return [](const QString &text) { return text; };
    const QJsonObject spec = specValue.toObject();
    const QString type = spec.value(QStringLiteral("type")).toString();
    if (type == QLatin1String("Sequence"))
        return sequence(spec, file);
    if (type == QLatin1String("Prepend"))
        return prepend(spec);
    if (type == QLatin1String("Replace"))
        return replace(spec, file);
    if (type == QLatin1String("Strip"))
        return strip(spec);
    if (type == QLatin1String("NFC"))
        return unicodeForm(QString::NormalizationForm_C);
    if (type == QLatin1String("NFD"))
        return unicodeForm(QString::NormalizationForm_D);
    if (type == QLatin1String("NFKC"))
        return unicodeForm(QString::NormalizationForm_KC);
    if (type == QLatin1String("NFKD"))
        return unicodeForm(QString::NormalizationForm_KD);
    if (type == QLatin1String("Lowercase"))
        return [](const QString &text) { return text.toLower(); };
    if (type == QLatin1String("StripAccents"))
        return [](const QString &text) { return BertBasicTokenizer::stripAccents(text); };
    if (type == QLatin1String("BertNormalizer"))
        return bertNormalizer(spec);
    throw Error(QStringLiteral("%1: unsupported normalizer type \"%2\"").arg(file, type));
}

} // namespace surfing
