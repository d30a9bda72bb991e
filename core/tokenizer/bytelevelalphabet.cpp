#include "bytelevelalphabet.h"

#include <QHash>
#include <array>

namespace surfing {

namespace {

struct Tables {
    std::array<char16_t, 256> charOfByte {};
    QHash<char16_t, char> byteOfChar;
};

// Printable Latin-1 bytes map to themselves; the others to 256, 257, ... in byte order.
const Tables &tables()
{
    static const Tables built = [] {
        Tables t;
        char16_t next = 256;
        for (int byte = 0; byte < 256; ++byte) {
            const bool printable = (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC)
                || (byte >= 0xAE && byte <= 0xFF);
            t.charOfByte[byte] = printable ? char16_t(byte) : next++;
            t.byteOfChar.insert(t.charOfByte[byte], char(byte));
        }
        return t;
    }();
    return built;
}

} // namespace

QString ByteLevelAlphabet::encode(const QByteArray &bytes)
{
    const Tables &t = tables();
    QString text(bytes.size(), Qt::Uninitialized);
    for (qsizetype i = 0; i < bytes.size(); ++i)
        text[i] = QChar(t.charOfByte[quint8(bytes[i])]);
    return text;
}

QByteArray ByteLevelAlphabet::decode(const QString &text)
{
    const Tables &t = tables();
    QByteArray bytes;
    bytes.reserve(text.size());
    for (qsizetype i = 0; i < text.size(); ++i) {
        const auto it = t.byteOfChar.constFind(text[i].unicode());
        if (it != t.byteOfChar.constEnd()) {
            bytes.append(*it);
            continue;
        }
        const bool pair = text[i].isHighSurrogate() && i + 1 < text.size() && text[i + 1].isLowSurrogate();
        bytes.append(text.mid(i, pair ? 2 : 1).toUtf8());
        i += pair ? 1 : 0;
    }
    return bytes;
}

} // namespace surfing
