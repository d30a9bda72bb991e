// The filters, tests, methods and functions a chat template may use, and Jinja's attribute and
// item lookup. Each throws surfing::Error with a plain message; the evaluator adds the position.
#pragma once

#include "chat/jinjavalue.h"

namespace surfing::jinja {

struct Arguments {
    List positional;
    std::vector<std::pair<QString, Value>> keywords;
    // The argument at `index`, or the keyword `name`, else `fallback`.
    Value get(int index, const char *name, const Value &fallback = Value()) const;
};

// Limits that keep a hostile template from filling memory (strings, lists, ranges).
constexpr qint64 kMaxValueLength = 4 << 20;

[[noreturn]] void throwUndefined(const Value &undefined);

Value callFilter(const QString &name, const Value &input, const Arguments &args);
bool callTest(const QString &name, const Value &input, const Arguments &args);
Value callMethod(const Value &object, const QString &name, const Arguments &args);
// namespace(), range(), raise_exception(), strftime_now(), dict().
Value callFunction(const QString &name, const Arguments &args);
QStringList functionNames();

Value getAttribute(const Value &object, const QString &name); // object.name
Value getItem(const Value &object, const Value &key);         // object[key]
Value getSlice(const Value &object, const Value &start, const Value &stop, const Value &step);

} // namespace surfing::jinja
