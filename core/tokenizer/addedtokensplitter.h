// Cuts text around added/special tokens ("<s>", "[CLS]") so they are never split by the model.
#pragma once

#include <QString>
#include <QStringList>
#include <QVector>

namespace surfing {

struct TextSegment {
    QString text;          // the span of the input (an added token's with the spaces it strips)
    bool isAddedToken = false;
    QString token;         // the added token's content, when isAddedToken
};

// An added token of a tokenizer.json and how it matches, as the tokenizers library does it.
struct AddedTokenSpec {
    QString content;
    bool lstrip = false;      // also takes the whitespace before it
    bool rstrip = false;      // also takes the whitespace after it
    bool singleWord = false;  // only where no letter, digit or '_' touches it
};

class AddedTokenSplitter
{
public:
    AddedTokenSplitter() = default;
    explicit AddedTokenSplitter(const QStringList &tokens);
    explicit AddedTokenSplitter(QVector<AddedTokenSpec> tokens);

    // Leftmost-longest matches of the tokens, and the plain text between them (never empty).
    QVector<TextSegment> split(const QString &text) const;
    bool isEmpty() const { return m_tokens.isEmpty(); }

private:
    const AddedTokenSpec *longestMatch(const QString &text, qsizetype pos) const;

    QVector<AddedTokenSpec> m_tokens;  // longest first
    QString m_firstChars;
};

} // namespace surfing
