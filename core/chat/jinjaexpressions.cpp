#include "chat/jinjaparser.h"
#include "chat/jinjaparser_p.h"

namespace surfing::jinja {

ExprPtr Parser::parseExpression(bool withConditional)
{
    DepthGuard guard(this, peek().pos);
    ExprPtr node = parseOr();
    while (withConditional && isName("if")) {
        const int pos = next().pos;
        ExprPtr condition = parseOr();
        ExprPtr otherwise;
        if (isName("else")) {
            ++m_i;
            otherwise = parseExpression();
        }
        ExprPtr e = make(Expr::Kind::Conditional, pos);
        e->args.push_back(std::move(condition));
        e->args.push_back(std::move(node));
        e->args.push_back(std::move(otherwise));
        node = std::move(e);
    }
    return node;
}

ExprPtr Parser::parseOr()
{
    ExprPtr left = parseAnd();
    while (isName("or")) {
        const int pos = next().pos;
        left = binary(QStringLiteral("or"), pos, std::move(left), parseAnd());
    }
    return left;
}

ExprPtr Parser::parseAnd()
{
    ExprPtr left = parseNot();
    while (isName("and")) {
        const int pos = next().pos;
        left = binary(QStringLiteral("and"), pos, std::move(left), parseNot());
    }
    return left;
}

ExprPtr Parser::parseNot()
{
    if (isName("not")) {
        DepthGuard guard(this, peek().pos);
        ExprPtr e = make(Expr::Kind::Unary, next().pos, QStringLiteral("not"));
        e->args.push_back(parseNot());
        return e;
    }
    return parseCompare();
}

ExprPtr Parser::parseCompare()
{
    ExprPtr left = parseMath1();
    bool compared = false;
    for (;;) {
        QString op;
        const int pos = peek().pos;
        if (peek().kind == Token::Kind::Operator
            && QStringList{QStringLiteral("=="), QStringLiteral("!="), QStringLiteral("<"), QStringLiteral(">"),
                           QStringLiteral("<="), QStringLiteral(">=")}.contains(peek().text)) {
            op = next().text;
        } else if (isName("in")) {
            ++m_i;
            op = QStringLiteral("in");
        } else if (isName("not") && isName("in", 1)) {
            m_i += 2;
            op = QStringLiteral("not in");
        } else {
            break;
        }
        if (compared) // a < b < c
            fail(QStringLiteral("unsupported chained comparison"), pos);
        compared = true;
        left = binary(op, pos, std::move(left), parseMath1());
    }
    return left;
}

ExprPtr Parser::parseMath1()
{
    ExprPtr left = parseConcat();
    while (isOp("+") || isOp("-")) {
        const Token &t = next();
        left = binary(t.text, t.pos, std::move(left), parseConcat());
    }
    return left;
}

ExprPtr Parser::parseConcat()
{
    ExprPtr left = parseMath2();
    while (isOp("~")) {
        const int pos = next().pos;
        left = binary(QStringLiteral("~"), pos, std::move(left), parseMath2());
    }
    return left;
}

ExprPtr Parser::parseMath2()
{
    ExprPtr left = parsePow();
    while (isOp("*") || isOp("/") || isOp("//") || isOp("%")) {
        const Token &t = next();
        left = binary(t.text, t.pos, std::move(left), parsePow());
    }
    return left;
}

ExprPtr Parser::parsePow()
{
    ExprPtr left = parseUnary(true);
    while (isOp("**")) {
        const int pos = next().pos;
        left = binary(QStringLiteral("**"), pos, std::move(left), parseUnary(true));
    }
    return left;
}

ExprPtr Parser::parseUnary(bool withFilter)
{
    DepthGuard guard(this, peek().pos);
    ExprPtr node;
    if (isOp("-") || isOp("+")) {
        const Token &t = next();
        node = make(Expr::Kind::Unary, t.pos, t.text);
        node->args.push_back(parseUnary(false));
    } else {
        node = parsePrimary();
    }
    node = parsePostfix(std::move(node));
    return withFilter ? parseFilters(std::move(node)) : std::move(node);
}

ExprPtr Parser::parsePrimary()
{
    const Token &t = next();
    switch (t.kind) {
    case Token::Kind::String: {
        QString text = t.text;
        while (peek().kind == Token::Kind::String) // adjacent literals join, as in Python
            text += next().text;
        ExprPtr e = make(Expr::Kind::Literal, t.pos);
        e->value = Value(text);
        return e;
    }
    case Token::Kind::Integer:
    case Token::Kind::Float: {
        ExprPtr e = make(Expr::Kind::Literal, t.pos);
        e->value = t.kind == Token::Kind::Integer ? Value(t.integer) : Value(t.real);
        return e;
    }
    case Token::Kind::Name: {
        ExprPtr e = make(Expr::Kind::Literal, t.pos);
        if (t.text == QLatin1String("true") || t.text == QLatin1String("True"))
            e->value = Value(true);
        else if (t.text == QLatin1String("false") || t.text == QLatin1String("False"))
            e->value = Value(false);
        else if (t.text == QLatin1String("none") || t.text == QLatin1String("None"))
            e->value = Value::none();
        else
            return make(Expr::Kind::Name, t.pos, t.text);
        return e;
    }
    case Token::Kind::Operator:
        if (t.text == QLatin1String("(")) {
            if (isOp(")")) { // empty tuple
                ++m_i;
                return make(Expr::Kind::List, t.pos, QStringLiteral("tuple"));
            }
            ExprPtr inner = parseExpression();
            if (!isOp(",")) {
                expectOp(")");
                return inner;
            }
            ExprPtr tuple = make(Expr::Kind::List, t.pos, QStringLiteral("tuple"));
            tuple->args.push_back(std::move(inner));
            while (isOp(",")) {
                ++m_i;
                if (isOp(")"))
                    break;
                tuple->args.push_back(parseExpression());
            }
            expectOp(")");
            return tuple;
        }
        if (t.text == QLatin1String("[") || t.text == QLatin1String("{")) {
            const bool isDict = t.text == QLatin1String("{");
            ExprPtr e = make(isDict ? Expr::Kind::Dict : Expr::Kind::List, t.pos);
            const char *close = isDict ? "}" : "]";
            while (!isOp(close)) {
                if (!e->args.empty())
                    expectOp(",");
                if (isOp(close))
                    break;
                e->args.push_back(parseExpression());
                if (isDict) {
                    expectOp(":");
                    e->args.push_back(parseExpression());
                }
            }
            ++m_i;
            return e;
        }
        break;
    default: break;
    }
    fail(QStringLiteral("unexpected %1").arg(describe(t)), t.pos);
}

ExprPtr Parser::parsePostfix(ExprPtr node)
{
    for (;;) {
        if (isOp(".")) {
            const int pos = next().pos;
            if (peek().kind == Token::Kind::Integer) { // foo.0 is foo[0] in Jinja
                ExprPtr e = make(Expr::Kind::Item, pos);
                e->args.push_back(std::move(node));
                ExprPtr index = make(Expr::Kind::Literal, peek().pos);
                index->value = Value(next().integer);
                e->args.push_back(std::move(index));
                node = std::move(e);
                continue;
            }
            ExprPtr e = make(Expr::Kind::Attr, pos, expectIdentifier());
            e->args.push_back(std::move(node));
            node = std::move(e);
        } else if (isOp("[")) {
            const int pos = next().pos;
            ExprPtr parts[3];
            bool isSlice = false;
            for (int part = 0; part < 3; ++part) {
                if (!isOp(":") && !isOp("]"))
                    parts[part] = parseExpression();
                if (part < 2 && isOp(":")) {
                    ++m_i;
                    isSlice = true;
                    continue;
                }
                break;
            }
            expectOp("]");
            if (!isSlice && !parts[0])
                fail(QStringLiteral("empty subscript []"), pos);
            ExprPtr e = make(isSlice ? Expr::Kind::Slice : Expr::Kind::Item, pos);
            e->args.push_back(std::move(node));
            for (int part = 0; part < (isSlice ? 3 : 1); ++part)
                e->args.push_back(std::move(parts[part]));
            node = std::move(e);
        } else if (isOp("(")) {
            if (node->kind == Expr::Kind::Attr && !isSupportedMethod(node->name))
                fail(QStringLiteral("unsupported method '%1'").arg(node->name), node->pos);
            ExprPtr e = make(Expr::Kind::Call, next().pos);
            e->args.push_back(std::move(node));
            parseArguments(*e);
            node = std::move(e);
        } else {
            return node;
        }
    }
}

// After "(": positional arguments, then name=value keywords, then ")".
void Parser::parseArguments(Expr &call)
{
    while (!isOp(")")) {
        if (call.args.size() > 1 || !call.keywords.isEmpty())
            expectOp(",");
        if (isOp(")"))
            break;
        if (peek().kind == Token::Kind::Name && isOp("=", 1)) {
            call.keywords << next().text;
            ++m_i;
            call.args.push_back(parseExpression());
        } else {
            if (!call.keywords.isEmpty())
                fail(QStringLiteral("a positional argument after keyword arguments"), peek().pos);
            call.args.push_back(parseExpression());
        }
    }
    ++m_i;
}

ExprPtr Parser::parseFilters(ExprPtr node)
{
    for (;;) {
        if (isOp("|")) {
            ++m_i;
            const int pos = peek().pos;
            const QString name = expectIdentifier();
            if (!isSupportedFilter(name))
                fail(QStringLiteral("unsupported filter '%1'").arg(name), pos);
            ExprPtr e = make(Expr::Kind::Filter, pos, name);
            e->args.push_back(std::move(node));
            if (isOp("(")) {
                ++m_i;
                parseArguments(*e);
            }
            node = std::move(e);
        } else if (isName("is")) {
            ++m_i;
            const bool negated = isName("not");
            if (negated)
                ++m_i;
            const int pos = peek().pos;
            QString name = peek().kind == Token::Kind::Operator ? next().text : expectIdentifier();
            if (name == QLatin1String("none") || name == QLatin1String("true") || name == QLatin1String("false"))
                name = name.toLower();
            if (!isSupportedTest(name))
                fail(QStringLiteral("unsupported test '%1'").arg(name), pos);
            ExprPtr e = make(Expr::Kind::Test, pos, name);
            e->negated = negated;
            e->args.push_back(std::move(node));
            if (isOp("(")) {
                ++m_i;
                parseArguments(*e);
            } else if (peek().kind == Token::Kind::String || peek().kind == Token::Kind::Integer
                       || peek().kind == Token::Kind::Float
                       || (peek().kind == Token::Kind::Name
                           && !QStringList{QStringLiteral("and"), QStringLiteral("or"), QStringLiteral("else"),
                                           QStringLiteral("if"), QStringLiteral("is"), QStringLiteral("in"),
                                           QStringLiteral("not")}.contains(peek().text))) {
                e->args.push_back(parseUnary(false)); // "x is divisibleby 3"
            }
            node = std::move(e);
        } else {
            return node;
        }
    }
}

} // namespace surfing::jinja
