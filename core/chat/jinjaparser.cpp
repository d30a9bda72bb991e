#include "chat/jinjaparser.h"

#include "chat/templateerror.h"

namespace surfing::jinja {
namespace {

constexpr int kMaxDepth = 100; // nesting of expressions and blocks; deeper is refused, not a stack overflow

const QStringList kUnsupportedTags = {
    QStringLiteral("macro"), QStringLiteral("call"), QStringLiteral("filter"), QStringLiteral("include"),
    QStringLiteral("import"), QStringLiteral("from"), QStringLiteral("extends"), QStringLiteral("block"),
    QStringLiteral("with"), QStringLiteral("autoescape"), QStringLiteral("do"), QStringLiteral("trans"),
    QStringLiteral("raw")};

class Parser
{
public:
    Parser(const QString &source, QVector<Token> tokens) : m_src(source), m_tokens(std::move(tokens)) {}

    Body parseAll()
    {
        QString stoppedAt;
        Body body = parseBody({}, &stoppedAt);
        return body;
    }

private:
    [[noreturn]] void fail(const QString &message, int pos) const { throw TemplateError(message, m_src, pos); }
    const Token &peek(int ahead = 0) const { return m_tokens[qMin(m_i + ahead, int(m_tokens.size()) - 1)]; }
    const Token &next() { return m_tokens[qMin(m_i++, int(m_tokens.size()) - 1)]; }
    bool isOp(const char *op, int ahead = 0) const
    {
        return peek(ahead).kind == Token::Kind::Operator && peek(ahead).text == QLatin1String(op);
    }
    bool isName(const char *name, int ahead = 0) const
    {
        return peek(ahead).kind == Token::Kind::Name && peek(ahead).text == QLatin1String(name);
    }
    void expectOp(const char *op)
    {
        if (!isOp(op))
            fail(QStringLiteral("expected '%1' but found %2").arg(QLatin1String(op), describe(peek())), peek().pos);
        ++m_i;
    }
    void expectName(const char *name)
    {
        if (!isName(name))
            fail(QStringLiteral("expected '%1' but found %2").arg(QLatin1String(name), describe(peek())), peek().pos);
        ++m_i;
    }
    QString expectIdentifier()
    {
        if (peek().kind != Token::Kind::Name)
            fail(QStringLiteral("expected a name but found %1").arg(describe(peek())), peek().pos);
        return next().text;
    }
    void expectBlockEnd()
    {
        if (peek().kind != Token::Kind::BlockEnd)
            fail(QStringLiteral("expected the end of the tag (%}) but found %1").arg(describe(peek())), peek().pos);
        ++m_i;
    }
    static QString describe(const Token &t)
    {
        switch (t.kind) {
        case Token::Kind::End: return QStringLiteral("the end of the template");
        case Token::Kind::BlockEnd: return QStringLiteral("'%}'");
        case Token::Kind::VarEnd: return QStringLiteral("'}}'");
        case Token::Kind::String: return QStringLiteral("a string");
        default: return QStringLiteral("'%1'").arg(t.text);
        }
    }
    struct DepthGuard {
        Parser *p;
        DepthGuard(Parser *parser, int pos) : p(parser)
        {
            if (++p->m_depth > kMaxDepth)
                p->fail(QStringLiteral("nested more than %1 levels deep").arg(kMaxDepth), pos);
        }
        ~DepthGuard() { --p->m_depth; }
    };

    Body parseBody(const QStringList &terminators, QString *stoppedAt);
    StmtPtr parseStatement(const QString &tag, int pos);
    StmtPtr parseIf(int pos);
    StmtPtr parseFor(int pos);
    StmtPtr parseSet(int pos);

    ExprPtr parseExpression(bool withConditional = true);
    ExprPtr parseOr();
    ExprPtr parseAnd();
    ExprPtr parseNot();
    ExprPtr parseCompare();
    ExprPtr parseMath1();
    ExprPtr parseConcat();
    ExprPtr parseMath2();
    ExprPtr parsePow();
    ExprPtr parseUnary(bool withFilter);
    ExprPtr parsePrimary();
    ExprPtr parsePostfix(ExprPtr node);
    ExprPtr parseFilters(ExprPtr node);
    void parseArguments(Expr &call);

    static ExprPtr make(Expr::Kind kind, int pos, const QString &name = QString())
    {
        auto e = std::make_unique<Expr>();
        e->kind = kind;
        e->pos = pos;
        e->name = name;
        return e;
    }
    static ExprPtr binary(const QString &op, int pos, ExprPtr left, ExprPtr right)
    {
        ExprPtr e = make(Expr::Kind::Binary, pos, op);
        e->args.push_back(std::move(left));
        e->args.push_back(std::move(right));
        return e;
    }

    const QString &m_src;
    QVector<Token> m_tokens;
    int m_i = 0;
    int m_depth = 0;
    int m_loopDepth = 0;
};

Body Parser::parseBody(const QStringList &terminators, QString *stoppedAt)
{
    DepthGuard guard(this, peek().pos);
    Body body;
    for (;;) {
        const Token &t = next();
        switch (t.kind) {
        case Token::Kind::Text: {
            auto s = std::make_unique<Stmt>();
            s->kind = Stmt::Kind::Text;
            s->pos = t.pos;
            s->text = t.text;
            body.push_back(std::move(s));
            break;
        }
        case Token::Kind::VarBegin: {
            auto s = std::make_unique<Stmt>();
            s->kind = Stmt::Kind::Output;
            s->pos = t.pos;
            s->expr = parseExpression();
            if (peek().kind != Token::Kind::VarEnd)
                fail(QStringLiteral("expected '}}' but found %1").arg(describe(peek())), peek().pos);
            ++m_i;
            body.push_back(std::move(s));
            break;
        }
        case Token::Kind::BlockBegin: {
            const int pos = peek().pos;
            const QString tag = expectIdentifier();
            if (terminators.contains(tag)) {
                *stoppedAt = tag;
                return body;
            }
            if (StmtPtr s = parseStatement(tag, pos))
                body.push_back(std::move(s));
            break;
        }
        case Token::Kind::End:
            if (!terminators.isEmpty())
                fail(QStringLiteral("missing {% %1 %}").arg(terminators.last()), t.pos);
            return body;
        default: fail(QStringLiteral("unexpected %1").arg(describe(t)), t.pos);
        }
    }
}

StmtPtr Parser::parseStatement(const QString &tag, int pos)
{
    if (tag == QLatin1String("if"))
        return parseIf(pos);
    if (tag == QLatin1String("for"))
        return parseFor(pos);
    if (tag == QLatin1String("set"))
        return parseSet(pos);
    if (tag == QLatin1String("break") || tag == QLatin1String("continue")) {
        if (m_loopDepth == 0)
            fail(QStringLiteral("'%1' outside a for loop").arg(tag), pos);
        expectBlockEnd();
        auto s = std::make_unique<Stmt>();
        s->kind = tag == QLatin1String("break") ? Stmt::Kind::Break : Stmt::Kind::Continue;
        s->pos = pos;
        return s;
    }
    if (tag == QLatin1String("generation")) { // transformers' assistant-mask marker: renders its body
        expectBlockEnd();
        QString stoppedAt;
        Body inner = parseBody({QStringLiteral("endgeneration")}, &stoppedAt);
        expectBlockEnd();
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::If;
        s->pos = pos;
        s->bodies.push_back(std::move(inner)); // an if with only an else: always rendered
        return s;
    }
    if (kUnsupportedTags.contains(tag))
        fail(QStringLiteral("unsupported tag '%1'").arg(tag), pos);
    fail(QStringLiteral("unexpected tag '%1'").arg(tag), pos);
}

StmtPtr Parser::parseIf(int pos)
{
    auto s = std::make_unique<Stmt>();
    s->kind = Stmt::Kind::If;
    s->pos = pos;
    s->conditions.push_back(parseExpression());
    expectBlockEnd();
    const QStringList ends = {QStringLiteral("elif"), QStringLiteral("else"), QStringLiteral("endif")};
    for (;;) {
        QString stoppedAt;
        s->bodies.push_back(parseBody(ends, &stoppedAt));
        if (stoppedAt == QLatin1String("endif"))
            break;
        if (stoppedAt == QLatin1String("elif")) {
            s->conditions.push_back(parseExpression());
            expectBlockEnd();
            continue;
        }
        expectBlockEnd(); // else
        s->bodies.push_back(parseBody({QStringLiteral("endif")}, &stoppedAt));
        break;
    }
    expectBlockEnd();
    return s;
}

StmtPtr Parser::parseFor(int pos)
{
    auto s = std::make_unique<Stmt>();
    s->kind = Stmt::Kind::For;
    s->pos = pos;
    s->targets << expectIdentifier();
    while (isOp(",")) {
        ++m_i;
        s->targets << expectIdentifier();
    }
    expectName("in");
    s->expr = parseExpression(false);
    if (isName("if")) {
        ++m_i;
        s->condition = parseExpression(false);
    }
    if (isName("recursive"))
        fail(QStringLiteral("unsupported recursive loop"), peek().pos);
    expectBlockEnd();
    ++m_loopDepth;
    QString stoppedAt;
    s->bodies.push_back(parseBody({QStringLiteral("else"), QStringLiteral("endfor")}, &stoppedAt));
    --m_loopDepth;
    if (stoppedAt == QLatin1String("else")) {
        expectBlockEnd();
        s->bodies.push_back(parseBody({QStringLiteral("endfor")}, &stoppedAt));
    }
    expectBlockEnd();
    return s;
}

StmtPtr Parser::parseSet(int pos)
{
    auto s = std::make_unique<Stmt>();
    s->kind = Stmt::Kind::Set;
    s->pos = pos;
    s->targets << expectIdentifier();
    if (isOp(".")) {
        ++m_i;
        s->targets << expectIdentifier();
    } else if (isOp(",")) {
        fail(QStringLiteral("unsupported tuple assignment in set"), peek().pos);
    }
    if (peek().kind == Token::Kind::BlockEnd && s->targets.size() == 1) { // {% set x %}...{% endset %}
        ++m_i;
        QString stoppedAt;
        s->bodies.push_back(parseBody({QStringLiteral("endset")}, &stoppedAt));
        expectBlockEnd();
        return s;
    }
    expectOp("=");
    s->expr = parseExpression();
    expectBlockEnd();
    return s;
}

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

} // namespace

bool isSupportedFilter(const QString &name)
{
    static const QStringList names = {
        QStringLiteral("trim"), QStringLiteral("length"), QStringLiteral("count"), QStringLiteral("upper"),
        QStringLiteral("lower"), QStringLiteral("title"), QStringLiteral("capitalize"), QStringLiteral("default"),
        QStringLiteral("d"), QStringLiteral("join"), QStringLiteral("first"), QStringLiteral("last"),
        QStringLiteral("list"), QStringLiteral("string"), QStringLiteral("int"), QStringLiteral("float"),
        QStringLiteral("abs"), QStringLiteral("replace"), QStringLiteral("tojson"), QStringLiteral("items"),
        QStringLiteral("reverse"), QStringLiteral("safe"), QStringLiteral("selectattr"), QStringLiteral("rejectattr"),
        QStringLiteral("map")};
    return names.contains(name);
}

bool isSupportedTest(const QString &name)
{
    static const QStringList names = {
        QStringLiteral("defined"), QStringLiteral("undefined"), QStringLiteral("none"), QStringLiteral("string"),
        QStringLiteral("number"), QStringLiteral("integer"), QStringLiteral("float"), QStringLiteral("mapping"),
        QStringLiteral("iterable"), QStringLiteral("sequence"), QStringLiteral("boolean"), QStringLiteral("true"),
        QStringLiteral("false"), QStringLiteral("even"), QStringLiteral("odd"), QStringLiteral("divisibleby"),
        QStringLiteral("eq"), QStringLiteral("equalto"), QStringLiteral("=="), QStringLiteral("ne"),
        QStringLiteral("!="), QStringLiteral("lower"), QStringLiteral("upper"), QStringLiteral("in")};
    return names.contains(name);
}

bool isSupportedMethod(const QString &name)
{
    static const QStringList names = {
        QStringLiteral("startswith"), QStringLiteral("endswith"), QStringLiteral("strip"), QStringLiteral("lstrip"),
        QStringLiteral("rstrip"), QStringLiteral("split"), QStringLiteral("upper"), QStringLiteral("lower"),
        QStringLiteral("title"), QStringLiteral("capitalize"), QStringLiteral("replace"), QStringLiteral("find"),
        QStringLiteral("count"), QStringLiteral("items"), QStringLiteral("keys"), QStringLiteral("values"),
        QStringLiteral("get")};
    return names.contains(name);
}

Body parseTemplate(const QString &source)
{
    return Parser(source, tokenize(source)).parseAll();
}

} // namespace surfing::jinja
