#include "wordpiecemodel.h"

namespace surfing {

namespace {

// UTF-16 offsets where each code point starts, plus the end.
QVector<qsizetype> codePointBoundaries(const QString &word)
{
    QVector<qsizetype> boundaries;
    for (qsizetype i = 0; i < word.size(); ++i) {
        if (!(word[i].isLowSurrogate() && i > 0 && word[i - 1].isHighSurrogate()))
            boundaries.append(i);
    }
    boundaries.append(word.size());
    return boundaries;
}

} // namespace

WordPieceModel::WordPieceModel(Vocabulary vocabulary, WordPieceOptions options)
    : m_vocabulary(std::move(vocabulary)), m_options(std::move(options))
{
}

QVector<qint64> WordPieceModel::tokenize(const QString &word) const
{
    const QVector<qsizetype> boundaries = codePointBoundaries(word);
    const qsizetype characters = boundaries.size() - 1;
    if (characters > m_options.maxInputCharsPerWord)
        return unknown();
    QVector<qint64> ids;
    for (qsizetype start = 0; start < characters;) {
        std::optional<qint64> found;
        qsizetype end = characters;
        for (; end > start; --end) {
            QString piece = word.mid(boundaries[start], boundaries[end] - boundaries[start]);
            if (start > 0)
                piece.prepend(m_options.continuingSubwordPrefix);
            found = m_vocabulary.id(piece);
            if (found)
                break;
        }
        if (!found)
            return unknown();
        ids.append(*found);
        start = end;
    }
    return ids;
}

QVector<qint64> WordPieceModel::unknown() const
{
    const std::optional<qint64> id = m_vocabulary.id(m_options.unkToken);
    return id ? QVector<qint64> {*id} : QVector<qint64> {};
}

} // namespace surfing
