#include "jsonpretokenizer.h"

#include "base/error.h"
#include "bertbasictokenizer.h"
#include "bytelevelalphabet.h"
#include "gpt2pretokenizer.h"
#include "jsonpattern.h"

#include <QJsonArray>
#include <QJsonObject>

namespace surfing {

namespace {

// Applies a piece -> pieces function to every piece.
PreTokenizer eachPiece(std::function<QStringList(const QString &, bool isFirst)> split)
{
    return [split](const QStringList &pieces, bool atTextStart) {
        QStringList result;
        for (qsizetype i = 0; i < pieces.size(); ++i)
            result += split(pieces[i], i == 0 && atTextStart);
        return result;
    };
}

PreTokenizer sequence(const QJsonObject &spec, const QString &file)
{
    QVector<PreTokenizer> steps;
    for (const QJsonValue &step : spec.value(QStringLiteral("pretokenizers")).toArray())
        steps.append(makePreTokenizer(step, file));
    return [steps](const QStringList &pieces, bool atTextStart) {
        QStringList result = pieces;
        for (const PreTokenizer &step : steps)
            result = step(result, atTextStart);
        return result;
    };
}

PreTokenizer byteLevel(const QJsonObject &spec)
{
    const bool addPrefixSpace = spec.value(QStringLiteral("add_prefix_space")).toBool(false);
    const bool useRegex = spec.value(QStringLiteral("use_regex")).toBool(true);
    return eachPiece([=](const QString &piece, bool) {
        const QString text = addPrefixSpace && !piece.startsWith(QLatin1Char(' ')) ? QLatin1Char(' ') + piece : piece;
        QStringList result;
        for (const QString &word : useRegex ? Gpt2PreTokenizer::split(text) : QStringList {text})
            result.append(ByteLevelAlphabet::encode(word.toUtf8()));
        return result;
    });
}

// How Split keeps the matches: the behaviours of tokenizers' SplitDelimiterBehavior.
QStringList combineParts(const QVector<PatternPart> &parts, const QString &behavior)
{
    QStringList result;
    bool previousWasMatch = false;
    for (const PatternPart &part : parts) {
        if (behavior == QLatin1String("Removed")) {
            if (!part.isMatch)
                result.append(part.text);
        } else if (behavior == QLatin1String("MergedWithPrevious")) {
            if (part.isMatch && !previousWasMatch && !result.isEmpty())
                result.last() += part.text;
            else
                result.append(part.text);
        } else if (behavior == QLatin1String("Contiguous")) {
            if (part.isMatch && previousWasMatch)
                result.last() += part.text;
            else
                result.append(part.text);
        } else if (behavior == QLatin1String("MergedWithNext")) {
            if (!part.isMatch && previousWasMatch)
                result.last() += part.text;
            else
                result.append(part.text);
        } else {  // Isolated
            result.append(part.text);
        }
        previousWasMatch = part.isMatch;
    }
    return result;
}

PreTokenizer splitOn(const JsonPattern &pattern, const QString &behavior, bool invert)
{
    return eachPiece([=](const QString &piece, bool) {
        QVector<PatternPart> parts = pattern.parts(piece);
        if (invert) {
            for (PatternPart &part : parts)
                part.isMatch = !part.isMatch;
        }
        return combineParts(parts, behavior);
    });
}

// The "behavior" of Split and Punctuation, one of tokenizers' SplitDelimiterBehavior names.
QString behavior(const QJsonObject &spec, const QString &file, const QString &component)
{
    static const QStringList known = {QStringLiteral("Removed"), QStringLiteral("Isolated"),
                                      QStringLiteral("MergedWithPrevious"), QStringLiteral("MergedWithNext"),
                                      QStringLiteral("Contiguous")};
    const QString value = spec.value(QStringLiteral("behavior")).toString(QStringLiteral("Isolated"));
    if (!known.contains(value))
        throw Error(QStringLiteral("%1: pre_tokenizer %2 has an unsupported behavior \"%3\" (supported: %4)")
                        .arg(file, component, value, known.join(QStringLiteral(", "))));
    return value;
}

PreTokenizer split(const QJsonObject &spec, const QString &file)
{
    const JsonPattern pattern = JsonPattern::parse(spec.value(QStringLiteral("pattern")), file,
                                                   QStringLiteral("pre_tokenizer Split"));
    return splitOn(pattern, behavior(spec, file, QStringLiteral("Split")), spec.value(QStringLiteral("invert")).toBool(false));
}

PreTokenizer metaspace(const QJsonObject &spec, const QString &file)
{
    const QString replacement = spec.value(QStringLiteral("replacement")).toString(QStringLiteral("\u2581"));
    QString scheme = spec.value(QStringLiteral("prepend_scheme")).toString();
    if (scheme.isEmpty())
        scheme = spec.value(QStringLiteral("add_prefix_space")).toBool(true) ? QStringLiteral("always")
                                                                             : QStringLiteral("never");
    if (scheme != QLatin1String("always") && scheme != QLatin1String("never") && scheme != QLatin1String("first"))
        throw Error(QStringLiteral("%1: pre_tokenizer Metaspace has an unsupported prepend_scheme \"%2\"").arg(file, scheme));
    const bool splitWords = spec.value(QStringLiteral("split")).toBool(true);
    const JsonPattern atReplacement = JsonPattern::regex(QRegularExpression::escape(replacement));
    return eachPiece([=](const QString &piece, bool isFirst) {
        QString text = QString(piece).replace(QLatin1Char(' '), replacement);
        const bool prepend = scheme == QLatin1String("always") || (scheme == QLatin1String("first") && isFirst);
        if (prepend && !text.startsWith(replacement))
            text.prepend(replacement);
        return splitWords ? combineParts(atReplacement.parts(text), QStringLiteral("MergedWithNext"))
                          : QStringList {text};
    });
}

PreTokenizer digits(const QJsonObject &spec)
{
    const bool individual = spec.value(QStringLiteral("individual_digits")).toBool(false);
    return splitOn(JsonPattern::regex(QStringLiteral("\\p{N}")),
                   individual ? QStringLiteral("Isolated") : QStringLiteral("Contiguous"), false);
}

} // namespace

PreTokenizer makePreTokenizer(const QJsonValue &specValue, const QString &file)
{
    if (specValue.isNull() || specValue.isUndefined())
        return [](const QStringList &pieces, bool) { return pieces; };
    const QJsonObject spec = specValue.toObject();
    const QString type = spec.value(QStringLiteral("type")).toString();
    if (type == QLatin1String("Sequence"))
        return sequence(spec, file);
    if (type == QLatin1String("ByteLevel"))
        return byteLevel(spec);
    if (type == QLatin1String("Metaspace"))
        return metaspace(spec, file);
    if (type == QLatin1String("Split"))
        return split(spec, file);
    if (type == QLatin1String("Digits"))
        return digits(spec);
    if (type == QLatin1String("Whitespace"))
        return splitOn(JsonPattern::regex(QStringLiteral("\\w+|[^\\w\\s]+")), QStringLiteral("Removed"), true);
    if (type == QLatin1String("WhitespaceSplit"))
        return splitOn(JsonPattern::regex(QStringLiteral("\\s+")), QStringLiteral("Removed"), false);
    if (type == QLatin1String("Punctuation"))
        return splitOn(JsonPattern::regex(QStringLiteral("\\p{P}|[!-/:-@\\[-`{-~]")),
                       behavior(spec, file, QStringLiteral("Punctuation")), false);
    if (type == QLatin1String("BertPreTokenizer"))
        return eachPiece([](const QString &piece, bool) {
            return BertBasicTokenizer::splitOnWhitespaceAndPunctuation(piece);
        });
    throw Error(QStringLiteral("%1: unsupported pre_tokenizer type \"%2\"").arg(file, type));
}

} // namespace surfing
