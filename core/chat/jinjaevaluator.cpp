#include "chat/jinjaevaluator.h"

#include "chat/jinjabuiltins.h"
#include "chat/templateerror.h"

#include <cmath>

namespace surfing::jinja {
namespace {

constexpr qint64 kMaxSteps = 2'000'000; // statements run and loop iterations

enum class Flow { Normal, Break, Continue };

class Evaluator
{
public:
    Evaluator(const QString &source, const Dict &globals) : m_src(source)
    {
        Dict builtins;
        for (const QString &name : functionNames())
            builtins.set(name, Value::function(name));
        m_frames.push_back(std::move(builtins));
        m_frames.push_back(globals);
        m_frames.emplace_back(); // the template's own top-level variables
    }

    QString render(const Body &body)
    {
        run(body);
        return m_out;
    }

private:
    [[noreturn]] void fail(const QString &message, int pos) const { throw TemplateError(message, m_src, pos); }
    void step(int pos)
    {
        if (++m_steps > kMaxSteps)
            fail(QStringLiteral("the template runs more than %1 steps").arg(kMaxSteps), pos);
    }
    void write(const QString &text, int pos)
    {
        m_out += text;
        if (m_out.size() > kMaxValueLength)
            fail(QStringLiteral("the template's output is longer than %1 characters").arg(kMaxValueLength), pos);
    }
    Value lookup(const QString &name) const
    {
        for (auto frame = m_frames.rbegin(); frame != m_frames.rend(); ++frame) {
            if (const Value *v = frame->find(name))
                return *v;
        }
        return Value::undefined(name);
    }

    Flow run(const Body &body);
    Flow runStatement(const Stmt &s);
    Flow runFor(const Stmt &s);
    void runSet(const Stmt &s);

    Value eval(const Expr &e);
    Value evalBinary(const Expr &e);
    Value arithmetic(const QString &op, const Value &a, const Value &b, int pos);
    Value evalCall(const Expr &e);
    Arguments arguments(const Expr &e, size_t first);

    const QString &m_src;
    std::vector<Dict> m_frames;
    QString m_out;
    qint64 m_steps = 0;
};

Flow Evaluator::run(const Body &body)
{
    for (const StmtPtr &s : body) {
        const Flow flow = runStatement(*s);
        if (flow != Flow::Normal)
            return flow;
    }
    return Flow::Normal;
}

Flow Evaluator::runStatement(const Stmt &s)
{
    step(s.pos);
    switch (s.kind) {
    case Stmt::Kind::Text: write(s.text, s.pos); break;
    case Stmt::Kind::Output: write(eval(*s.expr).str(), s.pos); break;
    case Stmt::Kind::If:
        for (size_t i = 0; i < s.conditions.size(); ++i) {
            if (eval(*s.conditions[i]).truthy())
                return run(s.bodies[i]);
        }
        if (s.bodies.size() > s.conditions.size())
            return run(s.bodies.back());
        break;
    case Stmt::Kind::For: return runFor(s);
    case Stmt::Kind::Set: runSet(s); break;
    case Stmt::Kind::Break: return Flow::Break;
    case Stmt::Kind::Continue: return Flow::Continue;
    }
    return Flow::Normal;
}

Flow Evaluator::runFor(const Stmt &s)
{
    const Value iterable = eval(*s.expr);
    if (!iterable.isUndefined() && !iterable.isIterable())
        fail(QStringLiteral("'%1' object is not iterable").arg(iterable.typeName()), s.expr->pos);
    const auto bind = [&](Dict &frame, const Value &item) {
        if (s.targets.size() == 1) {
            frame.set(s.targets.first(), item);
            return;
        }
        if (item.type() != Value::Type::List || item.list().size() != size_t(s.targets.size()))
            fail(QStringLiteral("cannot unpack %1 into %2 names").arg(item.repr().left(40)).arg(s.targets.size()), s.pos);
        for (int i = 0; i < s.targets.size(); ++i)
            frame.set(s.targets[i], item.list()[size_t(i)]);
    };
    List items;
    for (const Value &item : iterable.iterate()) {
        step(s.pos);
        if (s.condition) {
            m_frames.emplace_back();
            bind(m_frames.back(), item);
            const bool keep = eval(*s.condition).truthy();
            m_frames.pop_back();
            if (!keep)
                continue;
        }
        items.push_back(item);
    }
    const qint64 n = qint64(items.size());
    for (qint64 i = 0; i < n; ++i) {
        step(s.pos);
        Dict loop;
        loop.set(QStringLiteral("index0"), Value(i));
        loop.set(QStringLiteral("index"), Value(i + 1));
        loop.set(QStringLiteral("revindex0"), Value(n - i - 1));
        loop.set(QStringLiteral("revindex"), Value(n - i));
        loop.set(QStringLiteral("first"), Value(i == 0));
        loop.set(QStringLiteral("last"), Value(i == n - 1));
        loop.set(QStringLiteral("length"), Value(n));
        if (i > 0)
            loop.set(QStringLiteral("previtem"), items[size_t(i - 1)]);
        if (i + 1 < n)
            loop.set(QStringLiteral("nextitem"), items[size_t(i + 1)]);
        Dict frame;
        frame.set(QStringLiteral("loop"), Value(std::move(loop)));
        bind(frame, items[size_t(i)]);
        m_frames.push_back(std::move(frame));
        const Flow flow = run(s.bodies[0]);
        m_frames.pop_back();
        if (flow == Flow::Break)
            break;
    }
    if (n == 0 && s.bodies.size() > 1) {
        m_frames.emplace_back();
        const Flow flow = run(s.bodies[1]);
        m_frames.pop_back();
        return flow;
    }
    return Flow::Normal;
}

void Evaluator::runSet(const Stmt &s)
{
    Value value;
    if (s.expr) {
        value = eval(*s.expr);
    } else { // {% set x %}...{% endset %}: the body's output
        QString saved = std::exchange(m_out, QString());
        run(s.bodies[0]);
        value = Value(std::exchange(m_out, saved));
    }
    if (s.targets.size() == 1) {
        m_frames.back().set(s.targets.first(), value);
        return;
    }
    const Value object = lookup(s.targets.first());
    if (object.type() != Value::Type::Namespace)
        fail(QStringLiteral("cannot set an attribute of '%1' (only of a namespace())").arg(s.targets.first()), s.pos);
    object.namespaceDict().set(s.targets[1], value);
}

Value Evaluator::eval(const Expr &e)
{
    switch (e.kind) {
    case Expr::Kind::Literal: return e.value;
    case Expr::Kind::Name: return lookup(e.name);
    case Expr::Kind::List: {
        List items;
        for (const ExprPtr &item : e.args)
            items.push_back(eval(*item));
        return e.name.isEmpty() ? Value(std::move(items)) : Value::tuple(std::move(items));
    }
    case Expr::Kind::Dict: {
        Dict d;
        for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
            const Value key = eval(*e.args[i]);
            if (!key.isString())
                fail(QStringLiteral("unsupported dict key of type '%1' (only strings)").arg(key.typeName()), e.args[i]->pos);
            d.set(key.string(), eval(*e.args[i + 1]));
        }
        return Value(std::move(d));
    }
    case Expr::Kind::Conditional:
        if (eval(*e.args[0]).truthy())
            return eval(*e.args[1]);
        return e.args[2] ? eval(*e.args[2]) : Value::undefined(QStringLiteral("the else of an if expression"));
    case Expr::Kind::Unary: {
        const Value v = eval(*e.args[0]);
        if (e.name == QLatin1String("not"))
            return Value(!v.truthy());
        if (!v.isNumber()) {
            if (v.isUndefined())
                fail(QStringLiteral("'%1' is undefined").arg(v.string()), e.pos);
            fail(QStringLiteral("bad operand type for unary %1: '%2'").arg(e.name, v.typeName()), e.pos);
        }
        if (e.name == QLatin1String("+"))
            return v.type() == Value::Type::Bool ? Value(v.toInt()) : v;
        if (v.type() == Value::Type::Float)
            return Value(-v.toDouble());
        if (v.toInt() == std::numeric_limits<qint64>::min())
            fail(QStringLiteral("integer overflow"), e.pos);
        return Value(-v.toInt());
    }
    case Expr::Kind::Binary: return evalBinary(e);
    case Expr::Kind::Call: return evalCall(e);
    default: break;
    }
    // Attribute, item, slice, filter and test: the builtins do the work.
    try {
        const Value object = eval(*e.args[0]);
        switch (e.kind) {
        case Expr::Kind::Attr: return getAttribute(object, e.name);
        case Expr::Kind::Item: return getItem(object, eval(*e.args[1]));
        case Expr::Kind::Slice:
            return getSlice(object, e.args[1] ? eval(*e.args[1]) : Value(), e.args[2] ? eval(*e.args[2]) : Value(),
                            e.args[3] ? eval(*e.args[3]) : Value());
        case Expr::Kind::Filter: return callFilter(e.name, object, arguments(e, 1));
        case Expr::Kind::Test: return Value(callTest(e.name, object, arguments(e, 1)) != e.negated);
        default: fail(QStringLiteral("internal: unknown expression"), e.pos);
        }
    } catch (const TemplateError &) {
        throw;
    } catch (const Error &error) {
        fail(error.message(), e.pos);
    }
}

Arguments Evaluator::arguments(const Expr &e, size_t first)
{
    Arguments args;
    const size_t positional = e.args.size() - size_t(e.keywords.size());
    for (size_t i = first; i < e.args.size(); ++i) {
        const Value v = eval(*e.args[i]);
        if (i < positional)
            args.positional.push_back(v);
        else
            args.keywords.emplace_back(e.keywords[int(i - positional)], v);
    }
    return args;
}

Value Evaluator::evalCall(const Expr &e)
{
    const Expr &callee = *e.args[0];
    try {
        if (callee.kind == Expr::Kind::Attr) {
            const Value object = eval(*callee.args[0]);
            return callMethod(object, callee.name, arguments(e, 1));
        }
        const Value function = eval(callee);
        if (function.isUndefined())
            throwUndefined(function);
        if (function.type() != Value::Type::Function)
            fail(QStringLiteral("'%1' object is not callable").arg(function.typeName()), e.pos);
        return callFunction(function.string(), arguments(e, 1));
    } catch (const TemplateError &) {
        throw;
    } catch (const Error &error) {
        fail(error.message(), callee.pos);
    }
}

Value Evaluator::evalBinary(const Expr &e)
{
    const QString &op = e.name;
    const Value a = eval(*e.args[0]);
    if (op == QLatin1String("and"))
        return a.truthy() ? eval(*e.args[1]) : a;
    if (op == QLatin1String("or"))
        return a.truthy() ? a : eval(*e.args[1]);
    const Value b = eval(*e.args[1]);
    if (op == QLatin1String("~")) {
        const QString joined = a.str() + b.str();
        if (joined.size() > kMaxValueLength)
            fail(QStringLiteral("string longer than %1 characters").arg(kMaxValueLength), e.pos);
        return Value(joined);
    }
    if (op == QLatin1String("=="))
        return Value(a.equals(b));
    if (op == QLatin1String("!="))
        return Value(!a.equals(b));
    for (const Value *v : {&a, &b}) {
        if (v->isUndefined())
            fail(QStringLiteral("'%1' is undefined").arg(v->string()), e.pos);
    }
    if (op == QLatin1String("in") || op == QLatin1String("not in")) {
        bool found = false;
        if (b.isString()) {
            if (!a.isString())
                fail(QStringLiteral("'in <string>' needs a string on the left, not '%1'").arg(a.typeName()), e.pos);
            found = b.string().contains(a.string());
        } else if (b.isMapping()) {
            found = a.isString() && b.dict().find(a.string());
        } else if (b.type() == Value::Type::List) {
            for (const Value &item : b.list())
                found = found || item.equals(a);
        } else {
            fail(QStringLiteral("argument of type '%1' is not iterable").arg(b.typeName()), e.pos);
        }
        return Value(found != (op == QLatin1String("not in")));
    }
    if (op == QLatin1String("<") || op == QLatin1String(">") || op == QLatin1String("<=") || op == QLatin1String(">=")) {
        int order = 0;
        if (a.isNumber() && b.isNumber())
            order = a.toDouble() < b.toDouble() ? -1 : a.toDouble() > b.toDouble() ? 1 : 0;
        else if (a.isString() && b.isString())
            order = a.string().compare(b.string());
        else
            fail(QStringLiteral("'%1' not supported between '%2' and '%3'").arg(op, a.typeName(), b.typeName()), e.pos);
        if (op == QLatin1String("<"))
            return Value(order < 0);
        if (op == QLatin1String(">"))
            return Value(order > 0);
        return Value(op == QLatin1String("<=") ? order <= 0 : order >= 0);
    }
    return arithmetic(op, a, b, e.pos);
}

Value Evaluator::arithmetic(const QString &op, const Value &a, const Value &b, int pos)
{
    const auto unsupported = [&] {
        fail(QStringLiteral("unsupported operand types for %1: '%2' and '%3'").arg(op, a.typeName(), b.typeName()), pos);
    };
    if (op == QLatin1String("+") && a.type() == b.type() && (a.isString() || a.type() == Value::Type::List)) {
        if (a.length() + b.length() > kMaxValueLength)
            fail(QStringLiteral("value longer than %1").arg(kMaxValueLength), pos);
        if (a.isString())
            return Value(a.string() + b.string());
        List joined = a.list();
        joined.insert(joined.end(), b.list().begin(), b.list().end());
        return Value(std::move(joined));
    }
    if (op == QLatin1String("*") && (a.isString() || a.type() == Value::Type::List) && b.type() == Value::Type::Int) {
        const qint64 times = qMax<qint64>(0, b.toInt());
        if (times > 0 && a.length() > kMaxValueLength / times)
            fail(QStringLiteral("value longer than %1").arg(kMaxValueLength), pos);
        if (a.isString())
            return Value(a.string().repeated(qsizetype(times)));
        List out;
        for (qint64 i = 0; i < times; ++i)
            out.insert(out.end(), a.list().begin(), a.list().end());
        return Value(std::move(out));
    }
    if (!a.isNumber() || !b.isNumber())
        unsupported();
    const bool floats = a.type() == Value::Type::Float || b.type() == Value::Type::Float;
    if (op == QLatin1String("/")) {
        if (b.toDouble() == 0)
            fail(QStringLiteral("division by zero"), pos);
        return Value(a.toDouble() / b.toDouble());
    }
    if (floats) {
        const double x = a.toDouble(), y = b.toDouble();
        if ((op == QLatin1String("//") || op == QLatin1String("%")) && y == 0)
            fail(QStringLiteral("division by zero"), pos);
        if (op == QLatin1String("+")) return Value(x + y);
        if (op == QLatin1String("-")) return Value(x - y);
        if (op == QLatin1String("*")) return Value(x * y);
        if (op == QLatin1String("//")) return Value(std::floor(x / y));
        if (op == QLatin1String("%")) return Value(x - std::floor(x / y) * y);
        return Value(std::pow(x, y));
    }
    const qint64 x = a.toInt(), y = b.toInt();
    qint64 r = 0;
    bool overflow = false;
    if (op == QLatin1String("+")) {
        overflow = __builtin_add_overflow(x, y, &r);
    } else if (op == QLatin1String("-")) {
        overflow = __builtin_sub_overflow(x, y, &r);
    } else if (op == QLatin1String("*")) {
        overflow = __builtin_mul_overflow(x, y, &r);
    } else if (op == QLatin1String("//") || op == QLatin1String("%")) {
        if (y == 0)
            fail(QStringLiteral("division by zero"), pos);
        if (x == std::numeric_limits<qint64>::min() && y == -1)
            fail(QStringLiteral("integer overflow"), pos);
        qint64 q = x / y, m = x % y;
        if (m != 0 && ((m < 0) != (y < 0))) {
            --q;
            m += y;
        }
        r = op == QLatin1String("//") ? q : m;
    } else if (op == QLatin1String("**")) {
        if (y < 0)
            return Value(std::pow(double(x), double(y)));
        if (x == 0 || x == 1)
            r = y == 0 ? 1 : x;
        else if (x == -1)
            r = y % 2 == 0 ? 1 : -1;
        else { // |x| >= 2 overflows within 63 factors
            r = 1;
            for (qint64 i = 0; i < y && !overflow; ++i)
                overflow = __builtin_mul_overflow(r, x, &r);
        }
    } else {
        unsupported();
    }
    if (overflow)
        fail(QStringLiteral("integer overflow"), pos);
    return Value(r);
}

} // namespace

QString renderTemplate(const Body &body, const QString &source, const Dict &globals)
{
    return Evaluator(source, globals).render(body);
}

} // namespace surfing::jinja
