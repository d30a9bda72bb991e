#include "chat/jinjabuiltins.h"

#include "base/error.h"

#include <optional>

namespace surfing::jinja {
namespace {

qint64 needIndex(const Value &v, const QString &what)
{
    if (v.type() != Value::Type::Int && v.type() != Value::Type::Bool)
        throw Error(QStringLiteral("%1 needs an integer, not '%2'").arg(what, v.typeName()));
    return v.toInt();
}

[[noreturn]] void fail(const QString &message)
{
    throw Error(message);
}

} // namespace

Value getAttribute(const Value &object, const QString &name)
{
    if (object.isUndefined())
        throwUndefined(object);
    if (object.isMapping()) {
        const Value *v = object.dict().find(name);
        return v ? *v : Value::undefined(QStringLiteral("%1 has no attribute '%2'").arg(object.typeName(), name));
    }
    return Value::undefined(QStringLiteral("'%1' object has no attribute '%2'").arg(object.typeName(), name));
}

Value getItem(const Value &object, const Value &key)
{
    if (object.isUndefined())
        throwUndefined(object);
    if (object.isMapping()) {
        if (!key.isString())
            return Value::undefined(QStringLiteral("%1 has no key %2").arg(object.typeName(), key.repr()));
        return getAttribute(object, key.string());
    }
    if ((object.type() == Value::Type::List || object.isString()) && (key.type() == Value::Type::Int || key.type() == Value::Type::Bool)) {
        const List items = object.isString() ? object.iterate() : List();
        const List &list = object.isString() ? items : object.list();
        qint64 i = key.toInt();
        if (i < 0)
            i += qint64(list.size());
        if (i >= 0 && i < qint64(list.size()))
            return list[size_t(i)];
        return Value::undefined(QStringLiteral("index %1 out of range").arg(key.toInt()));
    }
    if (key.isString())
        return getAttribute(object, key.string());
    return Value::undefined(QStringLiteral("'%1' object has no item %2").arg(object.typeName(), key.repr()));
}

Value getSlice(const Value &object, const Value &start, const Value &stop, const Value &step)
{
    if (object.isUndefined())
        throwUndefined(object);
    if (object.type() != Value::Type::List && !object.isString())
        fail(QStringLiteral("'%1' object cannot be sliced").arg(object.typeName()));
    const List items = object.iterate();
    const qint64 n = qint64(items.size());
    const auto bound = [](const Value &v, const char *what) {
        return v.isUndefined() || v.isNone() ? std::optional<qint64>() : std::optional<qint64>(needIndex(v, QString::fromLatin1(what)));
    };
    const qint64 by = bound(step, "a slice step").value_or(1);
    if (by == 0)
        fail(QStringLiteral("slice step cannot be zero"));
    const auto clamp = [&](std::optional<qint64> v, qint64 fallback) {
        if (!v)
            return fallback;
        qint64 i = *v < 0 ? *v + n : *v;
        return by > 0 ? qBound<qint64>(0, i, n) : qBound<qint64>(-1, i, n - 1);
    };
    const qint64 from = clamp(bound(start, "a slice start"), by > 0 ? 0 : n - 1);
    const qint64 to = clamp(bound(stop, "a slice end"), by > 0 ? n : -1);
    List out;
    for (qint64 i = from; by > 0 ? i < to : i > to; i += by)
        out.push_back(items[size_t(i)]);
    if (!object.isString())
        return Value(std::move(out));
    QString s;
    for (const Value &c : out)
        s += c.string();
    return Value(s);
}

} // namespace surfing::jinja
