// The one exception type of core: a message a user can act on, naming the file or field at fault.
#pragma once

#include <QString>
#include <stdexcept>

namespace surfing {

class Error : public std::runtime_error
{
public:
    explicit Error(const QString &message) : std::runtime_error(message.toStdString()) {}
    QString message() const { return QString::fromStdString(what()); }
};

} // namespace surfing
