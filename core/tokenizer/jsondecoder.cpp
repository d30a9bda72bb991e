#include "jsondecoder.h"

#include "base/error.h"
#include "bytelevelalphabet.h"
#include "jsonpattern.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QStringDecoder>

namespace surfing {

namespace {

Decoder eachToken(std::function<QString(const QString &, qsizetype index, qsizetype count)> map)
{
    return [map](const QStringList &tokens) {
        QStringList result;
        result.reserve(tokens.size());
        for (qsizetype i = 0; i < tokens.size(); ++i)
            result.append(map(tokens[i], i, tokens.size()));
        return result;
    };
}

Decoder sequence(const QJsonObject &spec, const QString &file)
{
    QVector<Decoder> steps;
    for (const QJsonValue &step : spec.value(QStringLiteral("decoders")).toArray())
        steps.append(makeDecoder(step, file));
    return [steps](const QStringList &tokens) {
        QStringList result = tokens;
        for (const Decoder &step : steps)
            result = step(result);
        return result;
    };
}

Decoder replace(const QJsonObject &spec, const QString &file)
{
    const JsonPattern pattern = JsonPattern::parse(spec.value(QStringLiteral("pattern")), file,
                                                   QStringLiteral("decoder Replace"));
    const QString content = spec.value(QStringLiteral("content")).toString();
    return eachToken([=](const QString &token, qsizetype, qsizetype) { return pattern.replaceAll(token, content); });
}

// "<0xNN>" -> the byte; -1 for any other token.
int fallbackByte(const QString &token)
{
    if (token.size() != 6 || !token.startsWith(QLatin1String("<0x")) || !token.endsWith(QLatin1Char('>')))
        return -1;
    bool ok = false;
    const int byte = token.mid(3, 2).toInt(&ok, 16);
    return ok ? byte : -1;
}

// Runs of byte tokens become their UTF-8 text, or one U+FFFD per byte when it is not valid UTF-8.
QStringList byteFallback(const QStringList &tokens)
{
    QStringList result;
    QByteArray pending;
    auto flush = [&] {
        if (pending.isEmpty())
            return;
        QStringDecoder strict(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
        const QString text = strict.decode(pending);
        if (strict.hasError())
            result.append(QString(pending.size(), QChar::ReplacementCharacter));
        else
            result.append(text);
        pending.clear();
    };
    for (const QString &token : tokens) {
        const int byte = fallbackByte(token);
        if (byte >= 0) {
            pending.append(char(byte));
            continue;
        }
        flush();
        result.append(token);
    }
    flush();
    return result;
}

Decoder strip(const QJsonObject &spec)
{
    const QString content = spec.value(QStringLiteral("content")).toString(QStringLiteral(" "));
    const int start = spec.value(QStringLiteral("start")).toInt(0);
    const int stop = spec.value(QStringLiteral("stop")).toInt(0);
    return eachToken([=](const QString &token, qsizetype, qsizetype) {
        if (content.isEmpty())
            return token;
        QStringView view(token);
        for (int i = 0; i < start && view.startsWith(content); ++i)
            view = view.mid(content.size());
        for (int i = 0; i < stop && view.endsWith(content); ++i)
            view.chop(content.size());
        return view.toString();
    });
}

Decoder wordPiece(const QJsonObject &spec)
{
    const QString prefix = spec.value(QStringLiteral("prefix")).toString(QStringLiteral("##"));
    const bool cleanup = spec.value(QStringLiteral("cleanup")).toBool(true);
    return eachToken([=](const QString &token, qsizetype index, qsizetype) {
        QString text = token;
        if (index > 0)
            text = text.startsWith(prefix) ? text.mid(prefix.size()) : QLatin1Char(' ') + text;
        if (!cleanup)
            return text;
        static const std::pair<const char *, const char *> replacements[] = {
            {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
            {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
        };
        for (const auto &[from, to] : replacements)
            text.replace(QLatin1String(from), QLatin1String(to));
        return text;
    });
}

Decoder metaspace(const QJsonObject &spec)
{
    const QString replacement = spec.value(QStringLiteral("replacement")).toString(QStringLiteral("\u2581"));
    const QString scheme = spec.value(QStringLiteral("prepend_scheme")).toString();
    const bool prefixAdded = scheme.isEmpty() ? spec.value(QStringLiteral("add_prefix_space")).toBool(true)
                                              : scheme != QLatin1String("never");
    return eachToken([=](const QString &token, qsizetype index, qsizetype) {
        const bool dropReplacement = index == 0 && prefixAdded;
        return QString(token).replace(replacement, dropReplacement ? QString() : QStringLiteral(" "));
    });
}

Decoder bpeSuffix(const QJsonObject &spec)
{
    const QString suffix = spec.value(QStringLiteral("suffix")).toString(QStringLiteral("</w>"));
    return eachToken([=](const QString &token, qsizetype index, qsizetype count) {
        return QString(token).replace(suffix, index + 1 == count ? QString() : QStringLiteral(" "));
    });
}

QStringList fuse(const QStringList &tokens)
{
    return {tokens.join(QString())};
}

QStringList byteLevel(const QStringList &tokens)
{
    return {QString::fromUtf8(ByteLevelAlphabet::decode(tokens.join(QString())))};
}

} // namespace

Decoder makeDecoder(const QJsonValue &specValue, const QString &file)
{
    if (specValue.isNull() || specValue.isUndefined())
        return [](const QStringList &tokens) { return QStringList {tokens.join(QLatin1Char(' '))}; };
    const QJsonObject spec = specValue.toObject();
    const QString type = spec.value(QStringLiteral("type")).toString();
    if (type == QLatin1String("Sequence"))
        return sequence(spec, file);
    if (type == QLatin1String("Replace"))
        return replace(spec, file);
    if (type == QLatin1String("ByteFallback"))
        return byteFallback;
    if (type == QLatin1String("Fuse"))
        return fuse;
    if (type == QLatin1String("Strip"))
        return strip(spec);
    if (type == QLatin1String("ByteLevel"))
        return byteLevel;
    if (type == QLatin1String("WordPiece"))
        return wordPiece(spec);
    if (type == QLatin1String("Metaspace"))
        return metaspace(spec);
    if (type == QLatin1String("BPEDecoder"))
        return bpeSuffix(spec);
    throw Error(QStringLiteral("%1: unsupported decoder type \"%2\"").arg(file, type));
}

} // namespace surfing
