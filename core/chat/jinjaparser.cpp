#include "chat/jinjaparser.h"

#include "chat/jinjaparser_p.h"

namespace surfing::jinja {
namespace {

const QStringList kUnsupportedTags = {
    QStringLiteral("macro"), QStringLiteral("call"), QStringLiteral("filter"), QStringLiteral("include"),
    QStringLiteral("import"), QStringLiteral("from"), QStringLiteral("extends"), QStringLiteral("block"),
    QStringLiteral("with"), QStringLiteral("autoescape"), QStringLiteral("do"), QStringLiteral("trans"),
    QStringLiteral("raw")};


} // namespace

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
