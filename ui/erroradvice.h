// What to do about a failed run, in the window's own terms (which page, which field, which
// button), chosen by what the error says: a refused token is not a server that is not running.
#pragma once

#include "playgroundrequest.h"

#include <QString>

namespace surfing::ui {

QString adviceForRunError(const QString &message, const PlaygroundRequest &request);

} // namespace surfing::ui
