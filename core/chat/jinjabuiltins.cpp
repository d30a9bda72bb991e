#include "chat/jinjabuiltins.h"

#include "base/error.h"

#include <ctime>

namespace surfing::jinja {
namespace {

[[noreturn]] void fail(const QString &message)
{
    throw Error(message);
}

QString needString(const Value &v, const QString &what)
{
    if (v.isUndefined())
        throwUndefined(v);
    if (!v.isString())
        fail(QStringLiteral("%1 needs a string, not '%2'").arg(what, v.typeName()));
    return v.string();
}

qint64 needInt(const Value &v, const QString &what)
{
    if (v.type() != Value::Type::Int && v.type() != Value::Type::Bool)
        fail(QStringLiteral("%1 needs an integer, not '%2'").arg(what, v.typeName()));
    return v.toInt();
}

bool isPySpace(QChar c)
{
    return c.isSpace() || c == QChar(0x1c) || c == QChar(0x1d) || c == QChar(0x1e) || c == QChar(0x1f);
}

// Python's str.strip/lstrip/rstrip: whitespace, or any of `chars`.
QString stripped(const QString &s, const Value &chars, bool left, bool right)
{
    const bool anySpace = chars.isUndefined() || chars.isNone();
    const QString set = anySpace ? QString() : needString(chars, QStringLiteral("strip"));
    const auto strip = [&](QChar c) { return anySpace ? isPySpace(c) : set.contains(c); };
    int begin = 0, end = int(s.size());
    while (left && begin < end && strip(s[begin]))
        ++begin;
    while (right && end > begin && strip(s[end - 1]))
        --end;
    return s.mid(begin, end - begin);
}

QString capitalized(const QString &s)
{
    return s.left(1).toUpper() + s.mid(1).toLower();
}

// Jinja's title filter and Python's str.title(), which agree on ordinary text: each word starts
// upper case, the rest lower.
QString titled(const QString &s)
{
    QString out;
    bool atWordStart = true;
    for (QChar c : s) {
        out += atWordStart ? c.toUpper() : c.toLower();
        atWordStart = !c.isLetterOrNumber() && c != QLatin1Char('\'');
    }
    return out;
}

List split(const QString &s, const Value &separator, qint64 maxSplit)
{
    List parts;
    if (separator.isUndefined() || separator.isNone()) {
        int i = 0;
        while (i < s.size()) {
            while (i < s.size() && isPySpace(s[i]))
                ++i;
            if (i >= s.size())
                break;
            int j = i;
            if (maxSplit >= 0 && qint64(parts.size()) >= maxSplit)
                j = int(s.size());
            while (j < s.size() && !isPySpace(s[j]))
                ++j;
            parts.push_back(Value(stripped(s.mid(i, j - i), Value(), false, true)));
            i = j;
        }
        return parts;
    }
    const QString sep = needString(separator, QStringLiteral("split"));
    if (sep.isEmpty())
        fail(QStringLiteral("split: empty separator"));
    int from = 0;
    for (;;) {
        const int at = (maxSplit >= 0 && qint64(parts.size()) >= maxSplit) ? -1 : int(s.indexOf(sep, from));
        if (at < 0) {
            parts.push_back(Value(s.mid(from)));
            return parts;
        }
        parts.push_back(Value(s.mid(from, at - from)));
        from = at + int(sep.size());
    }
}

bool startsOrEnds(const QString &s, const Value &affix, bool start)
{
    if (affix.type() == Value::Type::List) { // a tuple of choices
        for (const Value &choice : affix.list()) {
            if (startsOrEnds(s, choice, start))
                return true;
        }
        return false;
    }
    const QString a = needString(affix, start ? QStringLiteral("startswith") : QStringLiteral("endswith"));
    return start ? s.startsWith(a) : s.endsWith(a);
}

QString replaced(QString s, const QString &old, const QString &with, qint64 count)
{
    if (count < 0 && !old.isEmpty()) {
        if (qint64(s.size()) / old.size() * with.size() > kMaxValueLength)
            fail(QStringLiteral("replace would make a string too long"));
        return s.replace(old, with);
    }
    QString out;
    int from = 0;
    for (qint64 done = 0; count < 0 || done < count; ++done) {
        const int at = old.isEmpty() ? (from <= s.size() ? from : -1) : int(s.indexOf(old, from));
        if (at < 0 || out.size() > kMaxValueLength)
            break;
        out += s.mid(from, at - from) + with;
        from = at + int(old.size());
        if (old.isEmpty()) {
            if (at < s.size())
                out += s[at];
            ++from;
        }
    }
    if (from <= s.size())
        out += s.mid(from);
    return out;
}

void requireJsonable(const Value &v)
{
    switch (v.type()) {
    case Value::Type::Undefined:
    case Value::Type::Namespace:
    case Value::Type::Function: fail(QStringLiteral("tojson: a '%1' cannot be written as JSON").arg(v.typeName()));
    case Value::Type::List:
        for (const Value &item : v.list())
            requireJsonable(item);
        break;
    case Value::Type::Dict:
        for (const auto &item : v.dict().items)
            requireJsonable(item.second);
        break;
    default: break;
    }
}

Value attributePath(const Value &object, const QString &path)
{
    Value v = object;
    for (const QString &part : path.split(QLatin1Char('.')))
        v = v.isUndefined() ? v : getAttribute(v, part);
    return v;
}

Value selectByAttribute(const Value &input, const Arguments &args, bool keep)
{
    const QString attribute = needString(args.get(0, "attribute"), QStringLiteral("selectattr"));
    Arguments testArgs;
    const Value test = args.get(1, "test");
    for (size_t i = 2; i < args.positional.size(); ++i)
        testArgs.positional.push_back(args.positional[i]);
    List out;
    for (const Value &item : input.iterate()) {
        const Value v = attributePath(item, attribute);
        const bool passed = test.isUndefined() ? v.truthy() : callTest(needString(test, QStringLiteral("selectattr")), v, testArgs);
        if (passed == keep)
            out.push_back(item);
    }
    return Value(std::move(out));
}

Value mapped(const Value &input, const Arguments &args)
{
    const Value attribute = args.get(-1, "attribute");
    List out;
    for (const Value &item : input.iterate()) {
        if (!attribute.isUndefined()) {
            const Value v = attributePath(item, needString(attribute, QStringLiteral("map")));
            out.push_back(v.isUndefined() ? args.get(-1, "default", v) : v);
            continue;
        }
        const QString filter = needString(args.get(0, "filter"), QStringLiteral("map"));
        if (filter == QLatin1String("map"))
            fail(QStringLiteral("map: cannot map with map"));
        Arguments rest;
        for (size_t i = 1; i < args.positional.size(); ++i)
            rest.positional.push_back(args.positional[i]);
        out.push_back(callFilter(filter, item, rest));
    }
    return Value(std::move(out));
}

Value converted(const Value &input, const Arguments &args, bool toFloat)
{
    const Value fallback = args.get(0, "default", toFloat ? Value(0.0) : Value(0));
    bool ok = true;
    double d = 0;
    if (input.isNumber())
        d = input.toDouble();
    else if (input.isString())
        d = input.string().trimmed().toDouble(&ok);
    else
        ok = false;
    if (!ok)
        return fallback;
    if (toFloat)
        return Value(d);
    if (input.type() == Value::Type::Int || input.type() == Value::Type::Bool)
        return Value(input.toInt());
    if (!(d > -9.2e18 && d < 9.2e18))
        return fallback;
    return Value(qint64(d));
}

} // namespace

Value Arguments::get(int index, const char *name, const Value &fallback) const
{
    if (index >= 0 && size_t(index) < positional.size())
        return positional[size_t(index)];
    for (const auto &kw : keywords) {
        if (kw.first == QLatin1String(name))
            return kw.second;
    }
    return fallback;
}

void throwUndefined(const Value &undefined)
{
    fail(QStringLiteral("'%1' is undefined").arg(undefined.string()));
}

Value callFilter(const QString &name, const Value &input, const Arguments &args)
{
    if (name == QLatin1String("default") || name == QLatin1String("d")) {
        const bool boolean = args.get(1, "boolean", Value(false)).truthy();
        return input.isUndefined() || (boolean && !input.truthy()) ? args.get(0, "default_value", Value(QString())) : input;
    }
    if (name == QLatin1String("safe"))
        return input;
    if (name == QLatin1String("length") || name == QLatin1String("count")) {
        if (!input.isUndefined() && !input.isIterable() && input.type() != Value::Type::Namespace)
            fail(QStringLiteral("object of type '%1' has no length").arg(input.typeName()));
        return Value(input.length());
    }
    if (name == QLatin1String("tojson")) {
        requireJsonable(input);
        const Value indent = args.get(0, "indent");
        return Value(input.toJson(indent.isUndefined() || indent.isNone() ? -1 : int(qBound(qint64(0), needInt(indent, name), qint64(64)))));
    }
    if (name == QLatin1String("trim"))
        return Value(stripped(input.str(), args.get(0, "chars"), true, true));
    if (name == QLatin1String("upper"))
        return Value(input.str().toUpper());
    if (name == QLatin1String("lower"))
        return Value(input.str().toLower());
    if (name == QLatin1String("title"))
        return Value(titled(input.str()));
    if (name == QLatin1String("capitalize"))
        return Value(capitalized(input.str()));
    if (name == QLatin1String("string"))
        return Value(input.str());
    if (name == QLatin1String("replace"))
        return Value(replaced(input.str(), args.get(0, "old").str(), args.get(1, "new").str(),
                              args.get(2, "count", Value(-1)).toInt()));
    if (name == QLatin1String("int") || name == QLatin1String("float"))
        return converted(input, args, name == QLatin1String("float"));
    if (name == QLatin1String("abs")) {
        if (!input.isNumber())
            fail(QStringLiteral("abs needs a number, not '%1'").arg(input.typeName()));
        if (input.type() == Value::Type::Float)
            return Value(std::abs(input.toDouble()));
        if (input.toInt() == std::numeric_limits<qint64>::min())
            fail(QStringLiteral("integer overflow"));
        return Value(input.toInt() < 0 ? -input.toInt() : input.toInt());
    }
    if (input.isUndefined() && name != QLatin1String("list") && name != QLatin1String("join")
        && name != QLatin1String("items") && name != QLatin1String("first") && name != QLatin1String("last"))
        throwUndefined(input);
    if (!input.isUndefined() && !input.isIterable())
        fail(QStringLiteral("filter '%1' needs a list, string or dict, not '%2'").arg(name, input.typeName()));
    const List items = input.iterate();
    if (name == QLatin1String("list"))
        return Value(items);
    if (name == QLatin1String("first"))
        return items.empty() ? Value::undefined(QStringLiteral("first of an empty sequence")) : items.front();
    if (name == QLatin1String("last"))
        return items.empty() ? Value::undefined(QStringLiteral("last of an empty sequence")) : items.back();
    if (name == QLatin1String("join")) {
        const Value attribute = args.get(1, "attribute");
        QStringList parts;
        for (const Value &item : items)
            parts << (attribute.isUndefined() ? item : attributePath(item, attribute.str())).str();
        return Value(parts.join(args.get(0, "d", Value(QString())).str()));
    }
    if (name == QLatin1String("items")) {
        List pairs;
        for (const auto &item : input.dict().items)
            pairs.push_back(Value::tuple(List{Value(item.first), item.second}));
        return Value(std::move(pairs));
    }
    if (name == QLatin1String("reverse")) {
        if (input.isString()) {
            QString r;
            for (auto it = items.rbegin(); it != items.rend(); ++it)
                r += it->string();
            return Value(r);
        }
        return Value(List(items.rbegin(), items.rend()));
    }
    if (name == QLatin1String("selectattr") || name == QLatin1String("rejectattr"))
        return selectByAttribute(input, args, name == QLatin1String("selectattr"));
    if (name == QLatin1String("map"))
        return mapped(input, args);
    fail(QStringLiteral("unsupported filter '%1'").arg(name));
}

bool callTest(const QString &name, const Value &input, const Arguments &args)
{
    const Value arg = args.get(0, "value");
    if (name == QLatin1String("defined"))
        return !input.isUndefined();
    if (name == QLatin1String("undefined"))
        return input.isUndefined();
    if (name == QLatin1String("none"))
        return input.isNone();
    if (name == QLatin1String("string"))
        return input.isString();
    if (name == QLatin1String("number"))
        return input.isNumber();
    if (name == QLatin1String("integer"))
        return input.type() == Value::Type::Int;
    if (name == QLatin1String("float"))
        return input.type() == Value::Type::Float;
    if (name == QLatin1String("boolean"))
        return input.type() == Value::Type::Bool;
    if (name == QLatin1String("true") || name == QLatin1String("false"))
        return input.type() == Value::Type::Bool && input.truthy() == (name == QLatin1String("true"));
    if (name == QLatin1String("mapping"))
        return input.type() == Value::Type::Dict;
    if (name == QLatin1String("iterable") || name == QLatin1String("sequence"))
        return input.isIterable();
    if (name == QLatin1String("lower") || name == QLatin1String("upper")) {
        const QString s = input.str();
        return name == QLatin1String("lower") ? s == s.toLower() && s != s.toUpper() : s == s.toUpper() && s != s.toLower();
    }
    if (name == QLatin1String("eq") || name == QLatin1String("equalto") || name == QLatin1String("=="))
        return input.equals(arg);
    if (name == QLatin1String("ne") || name == QLatin1String("!="))
        return !input.equals(arg);
    if (name == QLatin1String("in")) {
        for (const Value &item : arg.iterate()) {
            if (item.equals(input))
                return true;
        }
        return arg.isString() && input.isString() && arg.string().contains(input.string());
    }
    const qint64 n = needInt(input, name);
    if (name == QLatin1String("even"))
        return n % 2 == 0;
    if (name == QLatin1String("odd"))
        return n % 2 != 0;
    if (name == QLatin1String("divisibleby")) {
        const qint64 d = needInt(arg, name);
        if (d == 0)
            fail(QStringLiteral("divisibleby 0"));
        return d == -1 || n % d == 0;
    }
    fail(QStringLiteral("unsupported test '%1'").arg(name));
}

Value callMethod(const Value &object, const QString &name, const Arguments &args)
{
    if (object.isUndefined())
        throwUndefined(object);
    if (object.type() == Value::Type::Dict) {
        const Dict &d = object.dict();
        if (name == QLatin1String("get")) {
            const Value *v = d.find(args.get(0, "key").str());
            return v ? *v : args.get(1, "default", Value::none());
        }
        List out;
        for (const auto &item : d.items) {
            if (name == QLatin1String("items"))
                out.push_back(Value::tuple(List{Value(item.first), item.second}));
            else if (name == QLatin1String("keys"))
                out.push_back(Value(item.first));
            else if (name == QLatin1String("values"))
                out.push_back(item.second);
            else
                fail(QStringLiteral("unsupported dict method '%1'").arg(name));
        }
        return Value(std::move(out));
    }
    if (!object.isString())
        fail(QStringLiteral("'%1' object has no method '%2'").arg(object.typeName(), name));
    const QString &s = object.string();
    if (name == QLatin1String("startswith") || name == QLatin1String("endswith"))
        return Value(startsOrEnds(s, args.get(0, "prefix"), name == QLatin1String("startswith")));
    if (name == QLatin1String("strip") || name == QLatin1String("lstrip") || name == QLatin1String("rstrip"))
        return Value(stripped(s, args.get(0, "chars"), name != QLatin1String("rstrip"), name != QLatin1String("lstrip")));
    if (name == QLatin1String("split"))
        return Value(split(s, args.get(0, "sep"), args.get(1, "maxsplit", Value(-1)).toInt()));
    if (name == QLatin1String("upper"))
        return Value(s.toUpper());
    if (name == QLatin1String("lower"))
        return Value(s.toLower());
    if (name == QLatin1String("title"))
        return Value(titled(s));
    if (name == QLatin1String("capitalize"))
        return Value(capitalized(s));
    if (name == QLatin1String("replace"))
        return Value(replaced(s, needString(args.get(0, "old"), name), needString(args.get(1, "new"), name),
                              args.get(2, "count", Value(-1)).toInt()));
    if (name == QLatin1String("find"))
        return Value(qint64(s.indexOf(needString(args.get(0, "sub"), name))));
    if (name == QLatin1String("count")) {
        const QString sub = needString(args.get(0, "sub"), name);
        return Value(sub.isEmpty() ? qint64(s.size()) + 1 : qint64(s.count(sub)));
    }
    fail(QStringLiteral("'str' object has no method '%1'").arg(name));
}

QStringList functionNames()
{
    return {QStringLiteral("namespace"), QStringLiteral("range"), QStringLiteral("raise_exception"),
            QStringLiteral("strftime_now"), QStringLiteral("dict")};
}

Value callFunction(const QString &name, const Arguments &args)
{
    if (name == QLatin1String("namespace") || name == QLatin1String("dict")) {
        Dict d;
        for (const Value &p : args.positional) {
            if (p.type() != Value::Type::Dict)
                fail(QStringLiteral("%1() takes only a dict besides keyword arguments").arg(name));
            for (const auto &item : p.dict().items)
                d.set(item.first, item.second);
        }
        for (const auto &kw : args.keywords)
            d.set(kw.first, kw.second);
        return name == QLatin1String("dict") ? Value(std::move(d)) : Value::makeNamespace(std::move(d));
    }
    if (name == QLatin1String("range")) {
        const qint64 first = args.positional.size() > 1 ? needInt(args.positional[0], name) : 0;
        const qint64 last = needInt(args.get(args.positional.size() > 1 ? 1 : 0, "stop"), name);
        const qint64 step = args.positional.size() > 2 ? needInt(args.positional[2], name) : 1;
        if (step == 0)
            fail(QStringLiteral("range() step must not be zero"));
        List out;
        for (qint64 i = first; step > 0 ? i < last : i > last; i += step) {
            if (qint64(out.size()) >= 100000)
                fail(QStringLiteral("range() longer than 100000"));
            out.push_back(Value(i));
        }
        return Value(std::move(out));
    }
    if (name == QLatin1String("raise_exception"))
        fail(QStringLiteral("the template refused the conversation: %1").arg(args.get(0, "message").str()));
    if (name == QLatin1String("strftime_now")) {
        const QByteArray format = args.get(0, "format").str().toUtf8();
        const std::time_t now = std::time(nullptr);
        std::tm local{};
        localtime_r(&now, &local);
        char buffer[256];
        const size_t n = std::strftime(buffer, sizeof buffer, format.constData(), &local);
        return Value(QString::fromUtf8(buffer, qsizetype(n)));
    }
    fail(QStringLiteral("'%1' is not callable").arg(name));
}

} // namespace surfing::jinja
