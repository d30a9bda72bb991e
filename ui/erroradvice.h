// What to do about a failed run, in the window's own terms (which page, which field, which
// button), chosen by what the error says: a refused token is not a server that is not running.
#pragma once

#include "playgroundrequest.h"

#include <QString>
#include <optional>

namespace surfing::ui {

QString adviceForRunError(const QString &message, const PlaygroundRequest &request);

// A run refused because the prompt and the reply would not fit in the model's positions
// (InferenceSession's context check), with its numbers.
struct ContextOverflow {
    int promptTokens = 0;
    int maxNewTokens = 0;  // 0: the prompt alone is too long
    int contextLength = 0;
    int allowedNewTokens() const { return qMax(0, contextLength - promptTokens); }
    bool promptAloneTooLong() const { return allowedNewTokens() == 0; }
};
std::optional<ContextOverflow> contextOverflowIn(const QString &message);

} // namespace surfing::ui
