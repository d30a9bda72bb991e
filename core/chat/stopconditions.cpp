#include "chat/stopconditions.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>

namespace surfing {
namespace {

void addIds(const QJsonValue &field, QVector<qint64> &ids)
{
    const QJsonArray list = field.isArray() ? field.toArray() : QJsonArray{field};
    for (const QJsonValue &v : list) {
        if (v.isDouble() && v.toDouble() >= 0 && v.toDouble() == double(qint64(v.toDouble())) && !ids.contains(qint64(v.toDouble())))
            ids.append(qint64(v.toDouble()));
    }
}

QJsonObject readObject(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(f.readAll()).object();
}

} // namespace

QVector<qint64> eosTokenIds(const QString &modelDir, std::optional<qint64> tokenizerEos)
{
    QVector<qint64> ids;
    const QDir dir(modelDir);
    addIds(readObject(dir.filePath(QStringLiteral("config.json"))).value(QStringLiteral("eos_token_id")), ids);
    addIds(readObject(dir.filePath(QStringLiteral("generation_config.json"))).value(QStringLiteral("eos_token_id")), ids);
    if (tokenizerEos && *tokenizerEos >= 0 && !ids.contains(*tokenizerEos))
        ids.append(*tokenizerEos);
    return ids;
}

std::optional<int> contextLength(const QJsonObject &config)
{
    if (config.value(QStringLiteral("model_type")).toString() == QLatin1String("t5"))
        return std::nullopt;
    for (const char *key : {"max_position_embeddings", "n_positions", "n_ctx"}) {
        const QJsonValue v = config.value(QLatin1String(key));
        if (v.isDouble() && v.toDouble() >= 1 && v.toDouble() < 1e9)
            return int(v.toDouble());
    }
    return std::nullopt;
}

QStringList parseStopList(const QString &text)
{
    QStringList out;
    QString current;
    for (qsizetype i = 0; i < text.size(); ++i) {
        const QChar c = text[i];
        if (c == QLatin1Char(',')) {
            out << current;
            current.clear();
        } else if (c == QLatin1Char('\\') && i + 1 < text.size()) {
            const QChar e = text[++i];
            current += e == QLatin1Char('n') ? QChar(QLatin1Char('\n')) : e == QLatin1Char('t') ? QChar(QLatin1Char('\t')) : e;
        } else {
            current += c;
        }
    }
    out << current;
    out.removeAll(QString());
    return out;
}

StopStrings::StopStrings(const QStringList &stops)
{
    for (const QString &s : stops) {
        if (!s.isEmpty() && !m_stops.contains(s))
            m_stops.append(s);
    }
}

qsizetype StopStrings::find(const QString &text) const
{
    qsizetype earliest = -1;
    for (const QString &s : m_stops) {
        const qsizetype at = text.indexOf(s);
        if (at >= 0 && (earliest < 0 || at < earliest))
            earliest = at;
    }
    return earliest;
}

qsizetype StopStrings::heldBack(const QString &text) const
{
    qsizetype held = 0;
    for (const QString &s : m_stops) {
        for (qsizetype n = qMin(s.size() - 1, text.size()); n > held; --n) {
            if (QStringView(text).right(n) == QStringView(s).left(n)) {
                held = n;
                break;
            }
        }
    }
    return held;
}

} // namespace surfing
