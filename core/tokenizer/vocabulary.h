// A two-way map between token strings and ids, loaded from vocab.txt, vocab.json or a JSON object.
#pragma once

#include <QHash>
#include <QJsonObject>
#include <QString>
#include <optional>

namespace surfing {

class Vocabulary
{
public:
    // vocab.txt: one token per line, the id is the line number. Throws surfing::Error naming the file.
    static Vocabulary fromVocabTxt(const QString &path);
    // vocab.json: {"token": id, ...}. Throws surfing::Error naming the file.
    static Vocabulary fromVocabJson(const QString &path);
    // {"token": id, ...} from inside another file; `source` names it in errors.
    static Vocabulary fromJsonObject(const QJsonObject &object, const QString &source);

    void insert(const QString &token, qint64 id);
    std::optional<qint64> id(const QString &token) const;
    bool contains(const QString &token) const { return m_ids.contains(token); }
    QString token(qint64 id) const;  // empty when unknown
    qint64 size() const { return m_size; }  // one past the highest id

private:
    QHash<QString, qint64> m_ids;
    QHash<qint64, QString> m_tokens;  // a hash, not a vector: ids in a file may be sparse
    qint64 m_size = 0;
};

} // namespace surfing
