// GPT-2's reversible map from the 256 byte values to printable characters ("Ġ" is a space byte).
#pragma once

#include <QByteArray>
#include <QString>

namespace surfing {

class ByteLevelAlphabet
{
public:
    // Each byte becomes one printable character.
    static QString encode(const QByteArray &bytes);
    // The inverse; characters outside the alphabet are kept as their own UTF-8 bytes.
    static QByteArray decode(const QString &text);
};

} // namespace surfing
