// Cuts text around added/special tokens ("<s>", "[CLS]") so they are never split by the model.
#pragma once

#include <QString>
#include <QStringList>
#include <QVector>

namespace surfing {

struct TextSegment {
    QString text;
    bool isAddedToken = false;
};

class AddedTokenSplitter
{
public:
    AddedTokenSplitter() = default;
    explicit AddedTokenSplitter(QStringList tokens);

    // Leftmost-longest matches of the tokens, and the plain text between them (never empty).
    QVector<TextSegment> split(const QString &text) const;

private:
    qsizetype matchLength(const QString &text, qsizetype pos) const;

    QStringList m_tokens;  // longest first
    QString m_firstChars;
};

} // namespace surfing
