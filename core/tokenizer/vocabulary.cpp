#include "vocabulary.h"

#include "base/error.h"
#include "jsonfile.h"

#include <QFile>
#include <algorithm>

namespace surfing {

Vocabulary Vocabulary::fromVocabTxt(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        throw Error(QStringLiteral("cannot read %1: %2").arg(path, file.errorString()));
    Vocabulary vocabulary;
    qint64 id = 0;
    while (!file.atEnd()) {
        QByteArray line = file.readLine();
        while (line.endsWith('\n') || line.endsWith('\r'))
            line.chop(1);
        vocabulary.insert(QString::fromUtf8(line), id++);
    }
    if (id == 0)
        throw Error(QStringLiteral("%1 is empty").arg(path));
    return vocabulary;
}

Vocabulary Vocabulary::fromVocabJson(const QString &path)
{
    return fromJsonObject(readJsonObjectFile(path), path);
}

Vocabulary Vocabulary::fromJsonObject(const QJsonObject &object, const QString &source)
{
    Vocabulary vocabulary;
    for (auto it = object.begin(); it != object.end(); ++it) {
        const double id = it.value().toDouble(-1);
        // Range first: converting a double beyond qint64 is undefined.
        if (!it.value().isDouble() || id < 0 || id > 1e9 || id != qint64(id))
            throw Error(QStringLiteral("%1: token \"%2\" has no valid id").arg(source, it.key()));
        vocabulary.insert(it.key(), qint64(id));
    }
    return vocabulary;
}

void Vocabulary::insert(const QString &token, qint64 id)
{
    m_ids.insert(token, id);
    m_tokens.insert(id, token);
    m_size = std::max(m_size, id + 1);
}

std::optional<qint64> Vocabulary::id(const QString &token) const
{
    const auto it = m_ids.constFind(token);
    if (it == m_ids.constEnd())
        return std::nullopt;
    return *it;
}

QString Vocabulary::token(qint64 id) const
{
    return m_tokens.value(id);
}

} // namespace surfing
