// GPT-2's pre-tokenizer: the split of its regex
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// written out by hand over Unicode categories, so no regex engine is involved.
#pragma once

#include <QString>
#include <QStringList>

namespace surfing {

class Gpt2PreTokenizer
{
public:
    // The pieces of TEXT in order; their concatenation is TEXT.
    static QStringList split(const QString &text);
};

} // namespace surfing
