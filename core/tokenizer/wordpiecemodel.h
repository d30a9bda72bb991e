// WordPiece: greedy longest-match-first split of one word into vocabulary pieces ("##" continues).
#pragma once

#include "vocabulary.h"

#include <QString>
#include <QVector>

namespace surfing {

struct WordPieceOptions {
    QString unkToken = QStringLiteral("[UNK]");
    QString continuingSubwordPrefix = QStringLiteral("##");
    int maxInputCharsPerWord = 100;  // longer words are one unk token
};

class WordPieceModel
{
public:
    WordPieceModel(Vocabulary vocabulary, WordPieceOptions options);

    // A word that cannot be covered by pieces is the unk token (nothing if there is none).
    QVector<qint64> tokenize(const QString &word) const;
    const Vocabulary &vocabulary() const { return m_vocabulary; }
    const WordPieceOptions &options() const { return m_options; }

private:
    QVector<qint64> unknown() const;

    Vocabulary m_vocabulary;
    WordPieceOptions m_options;
};

} // namespace surfing
