#include "encoding.h"

#include <algorithm>

namespace surfing {

void Encoding::append(const Encoding &other)
{
    ids += other.ids;
    tokenTypeIds += other.tokenTypeIds;
    attentionMask += other.attentionMask;
    tokens += other.tokens;
}

void padBatch(QVector<Encoding> &batch, qint64 padId, const QString &padToken, PaddingSide side)
{
    qsizetype longest = 0;
    for (const Encoding &encoding : batch)
        longest = std::max(longest, encoding.size());
    for (Encoding &encoding : batch) {
        const qsizetype missing = longest - encoding.size();
        if (missing == 0)
            continue;
        Encoding padding;
        padding.ids.fill(padId, missing);
        padding.tokenTypeIds.fill(0, missing);
        padding.attentionMask.fill(0, missing);
        for (qsizetype i = 0; i < missing; ++i)
            padding.tokens.append(padToken);
        if (side == PaddingSide::Right) {
            encoding.append(padding);
        } else {
            padding.append(encoding);
            encoding = std::move(padding);
        }
    }
}

} // namespace surfing
