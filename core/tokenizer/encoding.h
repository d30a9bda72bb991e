// The result of tokenizing one text (or sentence pair), and padding a batch of them.
#pragma once

#include <QStringList>
#include <QVector>
#include <optional>

namespace surfing {

struct Encoding {
    QVector<qint64> ids;
    QVector<qint64> tokenTypeIds;
    QVector<qint64> attentionMask;  // 1 for real tokens, 0 for padding
    QStringList tokens;

    qsizetype size() const { return ids.size(); }
    // Appends another encoding (its token types as they are).
    void append(const Encoding &other);
};

enum class PaddingSide { Right, Left };

// Pads every encoding to the longest with padId / padToken, token type 0 and attention 0.
void padBatch(QVector<Encoding> &batch, qint64 padId, const QString &padToken,
              PaddingSide side = PaddingSide::Right);

} // namespace surfing
