// Parses the tokens of a chat template into statements. Anything outside the supported subset of
// Jinja (a tag, filter, test or method the evaluator does not implement) is a TemplateError that
// names it and its position, so a template is never rendered half-understood.
#pragma once

#include "chat/jinjaast.h"
#include "chat/jinjalexer.h"

namespace surfing::jinja {

// Throws TemplateError.
Body parseTemplate(const QString &source);

// What the evaluator implements; the parser refuses other names up front.
bool isSupportedFilter(const QString &name);
bool isSupportedTest(const QString &name);
bool isSupportedMethod(const QString &name);

} // namespace surfing::jinja
