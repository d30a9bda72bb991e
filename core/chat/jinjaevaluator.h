// Renders parsed template statements with Jinja's semantics: a new scope per loop iteration
// (a {% set %} inside a loop does not leak out, which is why namespace() exists), Python's
// operators, undefined values that print as nothing but fail in arithmetic.
#pragma once

#include "chat/jinjaast.h"

namespace surfing::jinja {

// `globals` are the variables the template sees (messages, bos_token, ...). Throws TemplateError
// with the position of the expression at fault; also when the output or the work grows past
// limits that a sane chat template never reaches.
QString renderTemplate(const Body &body, const QString &source, const Dict &globals);

} // namespace surfing::jinja
