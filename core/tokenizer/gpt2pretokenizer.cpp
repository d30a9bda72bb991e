#include "gpt2pretokenizer.h"

#include <QVector>

namespace surfing {

namespace {

enum class CharClass { Letter, Number, Space, Other };

CharClass classify(char32_t c)
{
    if (QChar::isLetter(c))
        return CharClass::Letter;
    if (QChar::isNumber(c))
        return CharClass::Number;
    if (QChar::isSpace(c))
        return CharClass::Space;
    return CharClass::Other;
}

// Code points of the text with their classes, so the scanner can look ahead freely.
class Scanner
{
public:
    explicit Scanner(const QString &text) : m_codePoints(text.toUcs4())
    {
        m_classes.reserve(m_codePoints.size());
        for (uint c : m_codePoints)
            m_classes.append(classify(c));
    }

    qsizetype size() const { return m_codePoints.size(); }
    QString piece(qsizetype begin, qsizetype end) const
    {
        return QString::fromUcs4(reinterpret_cast<const char32_t *>(m_codePoints.constData()) + begin,
                                end - begin);
    }

    // Length of the piece that starts at POS.
    qsizetype pieceLength(qsizetype pos) const
    {
        if (const qsizetype n = contractionLength(pos))
            return n;
        const CharClass cls = m_classes[pos];
        if (cls != CharClass::Space)
            return runLength(pos, cls);
        const bool spaceBeforeWord = m_codePoints[pos] == U' ' && pos + 1 < size()
            && m_classes[pos + 1] != CharClass::Space;
        if (spaceBeforeWord)  // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+"
            return 1 + runLength(pos + 1, m_classes[pos + 1]);
        return whitespaceLength(pos);
    }

private:
    // 's 't 're 've 'm 'll 'd (lower case only, as GPT-2's pattern).
    qsizetype contractionLength(qsizetype pos) const
    {
        if (m_codePoints[pos] != U'\'' || pos + 1 >= size())
            return 0;
        const uint next = m_codePoints[pos + 1];
        if (next == U's' || next == U't' || next == U'm' || next == U'd')
            return 2;
        if (pos + 2 >= size())
            return 0;
        const uint after = m_codePoints[pos + 2];
        const bool two = (next == U'r' && after == U'e') || (next == U'v' && after == U'e')
            || (next == U'l' && after == U'l');
        return two ? 3 : 0;
    }

    qsizetype runLength(qsizetype pos, CharClass cls) const
    {
        qsizetype end = pos;
        while (end < size() && m_classes[end] == cls)
            ++end;
        return end - pos;
    }

    // "\s+(?!\S)|\s+": a run of spaces leaves its last one to the word that follows it.
    qsizetype whitespaceLength(qsizetype pos) const
    {
        const qsizetype run = runLength(pos, CharClass::Space);
        const bool atEnd = pos + run == size();
        return (atEnd || run == 1) ? run : run - 1;
    }

    QList<uint> m_codePoints;
    QVector<CharClass> m_classes;
};

} // namespace

QStringList Gpt2PreTokenizer::split(const QString &text)
{
    const Scanner scanner(text);
    QStringList pieces;
    for (qsizetype pos = 0; pos < scanner.size();) {
        const qsizetype length = scanner.pieceLength(pos);
        pieces.append(scanner.piece(pos, pos + length));
        pos += length;
    }
    return pieces;
}

} // namespace surfing
