#include "unicodenormalization.h"

#include <QStringView>

namespace surfing {

namespace {

constexpr qsizetype chunkLength = 256;

// Normalization never reaches back across a character below U+0300: those are starters that no
// composition takes as its second character, so the text can be normalized piece by piece.
bool isSafeCut(QChar c)
{
    return c.unicode() < 0x300;
}

} // namespace

QString normalizeUnicode(const QString &text, QString::NormalizationForm form)
{
    if (text.size() <= chunkLength)
        return text.normalized(form);
    QString result;
    result.reserve(text.size());
    qsizetype chunkStart = 0;
    for (qsizetype i = chunkLength; i < text.size(); ++i) {
        if (i - chunkStart >= chunkLength && isSafeCut(text[i])) {
            result += text.mid(chunkStart, i - chunkStart).normalized(form);
            chunkStart = i;
        }
    }
    result += text.mid(chunkStart).normalized(form);
    return result;
}

} // namespace surfing
