// Byte-pair encoding of one pre-tokenized word, as Hugging Face tokenizers' BPE model does it:
// lowest-ranked merge first (leftmost on ties), optional byte fallback to <0xNN> tokens.
#pragma once

#include "vocabulary.h"

#include <QHash>
#include <QPair>
#include <QString>
#include <QVector>

namespace surfing {

struct BpeOptions {
    QString unkToken;                 // empty: unknown characters are dropped
    bool fuseUnk = false;             // consecutive unknown characters give one unk token
    bool byteFallback = false;        // unknown characters become their <0xNN> byte tokens
    bool ignoreMerges = false;        // a word found whole in the vocabulary is one token
    QString continuingSubwordPrefix;  // e.g. "##"; added to every character but the first
    QString endOfWordSuffix;          // e.g. "</w>"; added to the last character
};

using BpeMerge = QPair<QString, QString>;

class BpeModel
{
public:
    // Throws surfing::Error naming SOURCE when a merge uses or makes a token outside the vocabulary.
    BpeModel(Vocabulary vocabulary, const QVector<BpeMerge> &merges, BpeOptions options,
             const QString &source);

    // merges.txt: "#version" header, then one "left right" pair per line, best first.
    static QVector<BpeMerge> readMergesTxt(const QString &path);

    QVector<qint64> tokenize(const QString &word) const;
    const Vocabulary &vocabulary() const { return m_vocabulary; }

private:
    struct MergeResult {
        int rank;
        qint64 newId;
    };
    struct Symbol {
        qint64 id;
        qsizetype prev;
        qsizetype next;
        bool merged;  // absorbed into its left neighbour
    };

    static quint64 pairKey(qint64 left, qint64 right) { return (quint64(left) << 32) | quint64(right); }
    QVector<Symbol> initialSymbols(const QString &word) const;
    void appendCharacter(const QString &piece, QVector<qint64> &ids, bool &lastWasUnk) const;
    void mergeAll(QVector<Symbol> &symbols) const;

    Vocabulary m_vocabulary;
    QHash<quint64, MergeResult> m_merges;
    BpeOptions m_options;
    std::optional<qint64> m_unkId;
};

} // namespace surfing
