#include "bpemodel.h"

#include "base/error.h"

#include <QFile>
#include <queue>

namespace surfing {

namespace {

struct PendingMerge {
    int rank;
    qsizetype pos;
    qint64 newId;
    // std::priority_queue pops the largest: make the lowest rank, then leftmost, the largest.
    bool operator<(const PendingMerge &other) const
    {
        return rank != other.rank ? rank > other.rank : pos > other.pos;
    }
};

QString byteTokenName(quint8 byte)
{
    return QString::asprintf("<0x%02X>", byte);
}

qint64 requireId(const Vocabulary &vocabulary, const QString &token, const QString &source)
{
    const std::optional<qint64> id = vocabulary.id(token);
    if (!id)
        throw Error(QStringLiteral("%1: merge token \"%2\" is not in the vocabulary").arg(source, token));
    if (*id >= (qint64(1) << 32))
        throw Error(QStringLiteral("%1: token id %2 is too large").arg(source).arg(*id));
    return *id;
}

} // namespace

BpeModel::BpeModel(Vocabulary vocabulary, const QVector<BpeMerge> &merges, BpeOptions options,
                   const QString &source)
    : m_vocabulary(std::move(vocabulary)), m_options(std::move(options))
{
    if (!m_options.unkToken.isEmpty())
        m_unkId = m_vocabulary.id(m_options.unkToken);
    const qsizetype prefixLength = m_options.continuingSubwordPrefix.size();
    m_merges.reserve(merges.size());
    for (int rank = 0; rank < merges.size(); ++rank) {
        const auto &[left, right] = merges[rank];
        const bool rightHasPrefix = prefixLength > 0 && right.startsWith(m_options.continuingSubwordPrefix);
        const QString merged = left + (rightHasPrefix ? right.mid(prefixLength) : right);
        const quint64 key = pairKey(requireId(m_vocabulary, left, source), requireId(m_vocabulary, right, source));
        if (!m_merges.contains(key))
            m_merges.insert(key, {rank, requireId(m_vocabulary, merged, source)});
    }
}

QVector<BpeMerge> BpeModel::readMergesTxt(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        throw Error(QStringLiteral("cannot read %1: %2").arg(path, file.errorString()));
    QVector<BpeMerge> merges;
    int lineNumber = 0;
    while (!file.atEnd()) {
        ++lineNumber;
        const QString line = QString::fromUtf8(file.readLine()).remove(QLatin1Char('\r')).remove(QLatin1Char('\n'));
        if (line.isEmpty() || line.startsWith(QLatin1String("#version")))
            continue;
        const QStringList parts = line.split(QLatin1Char(' '));
        if (parts.size() != 2)
            throw Error(QStringLiteral("%1:%2: expected two tokens separated by a space").arg(path).arg(lineNumber));
        merges.append({parts[0], parts[1]});
    }
    return merges;
}

QVector<qint64> BpeModel::tokenize(const QString &word) const
{
    if (m_options.ignoreMerges) {
        if (const std::optional<qint64> id = m_vocabulary.id(word))
            return {*id};
    }
    QVector<Symbol> symbols = initialSymbols(word);
    mergeAll(symbols);
    QVector<qint64> ids;
    for (const Symbol &symbol : symbols) {
        if (!symbol.merged)
            ids.append(symbol.id);
    }
    return ids;
}

QVector<BpeModel::Symbol> BpeModel::initialSymbols(const QString &word) const
{
    QVector<qint64> ids;
    bool lastWasUnk = false;
    for (qsizetype i = 0; i < word.size();) {
        const bool pair = word[i].isHighSurrogate() && i + 1 < word.size() && word[i + 1].isLowSurrogate();
        const qsizetype length = pair ? 2 : 1;
        QString piece = word.mid(i, length);
        if (i > 0)
            piece.prepend(m_options.continuingSubwordPrefix);
        if (i + length == word.size())
            piece.append(m_options.endOfWordSuffix);
        appendCharacter(piece, ids, lastWasUnk);
        i += length;
    }
    QVector<Symbol> symbols(ids.size());
    for (qsizetype i = 0; i < ids.size(); ++i)
        symbols[i] = {ids[i], i - 1, i + 1 < ids.size() ? i + 1 : -1, false};
    return symbols;
}

void BpeModel::appendCharacter(const QString &piece, QVector<qint64> &ids, bool &lastWasUnk) const
{
    if (const std::optional<qint64> id = m_vocabulary.id(piece)) {
        ids.append(*id);
        lastWasUnk = false;
        return;
    }
    if (m_options.byteFallback) {
        QVector<qint64> byteIds;
        for (char byte : piece.toUtf8()) {
            if (const std::optional<qint64> id = m_vocabulary.id(byteTokenName(quint8(byte))))
                byteIds.append(*id);
        }
        if (byteIds.size() == piece.toUtf8().size()) {
            ids += byteIds;
            lastWasUnk = false;
            return;
        }
    }
    if (!m_unkId || (m_options.fuseUnk && lastWasUnk))
        return;
    ids.append(*m_unkId);
    lastWasUnk = true;
}

void BpeModel::mergeAll(QVector<Symbol> &symbols) const
{
    std::priority_queue<PendingMerge> queue;
    auto consider = [&](qsizetype pos) {
        const qsizetype next = symbols[pos].next;
        if (next < 0)
            return;
        const auto it = m_merges.constFind(pairKey(symbols[pos].id, symbols[next].id));
        if (it != m_merges.constEnd())
            queue.push({it->rank, pos, it->newId});
    };
    for (qsizetype pos = 0; pos < symbols.size(); ++pos)
        consider(pos);

    while (!queue.empty()) {
        const PendingMerge top = queue.top();
        queue.pop();
        Symbol &left = symbols[top.pos];
        if (left.merged || left.next < 0)
            continue;
        const auto current = m_merges.constFind(pairKey(left.id, symbols[left.next].id));
        if (current == m_merges.constEnd() || current->newId != top.newId)
            continue;  // the pair changed since this merge was queued
        Symbol &right = symbols[left.next];
        right.merged = true;
        left.id = top.newId;
        left.next = right.next;
        if (right.next >= 0)
            symbols[right.next].prev = top.pos;
        if (left.prev >= 0)
            consider(left.prev);
        consider(top.pos);
    }
}

} // namespace surfing
