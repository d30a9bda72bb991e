#include "addedtokensplitter.h"

#include <QStringView>
#include <algorithm>

namespace surfing {

AddedTokenSplitter::AddedTokenSplitter(QStringList tokens)
{
    tokens.removeAll(QString());
    tokens.removeDuplicates();
    std::stable_sort(tokens.begin(), tokens.end(),
                     [](const QString &a, const QString &b) { return a.size() > b.size(); });
    m_tokens = tokens;
    for (const QString &token : m_tokens) {
        if (!m_firstChars.contains(token[0]))
            m_firstChars += token[0];
    }
}

QVector<TextSegment> AddedTokenSplitter::split(const QString &text) const
{
    QVector<TextSegment> segments;
    qsizetype plainStart = 0;
    for (qsizetype pos = 0; pos < text.size();) {
        const qsizetype length = m_firstChars.contains(text[pos]) ? matchLength(text, pos) : 0;
        if (length == 0) {
            ++pos;
            continue;
        }
        if (pos > plainStart)
            segments.append({text.mid(plainStart, pos - plainStart), false});
        segments.append({text.mid(pos, length), true});
        pos += length;
        plainStart = pos;
    }
    if (plainStart < text.size())
        segments.append({text.mid(plainStart), false});
    return segments;
}

qsizetype AddedTokenSplitter::matchLength(const QString &text, qsizetype pos) const
{
    const QStringView rest = QStringView(text).mid(pos);
    for (const QString &token : m_tokens) {
        if (rest.startsWith(token))
            return token.size();
    }
    return 0;
}

} // namespace surfing
