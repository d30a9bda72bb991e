// The parser behind parseTemplate(): statements in jinjaparser.cpp, expressions in
// jinjaexpressions.cpp. Internal to core/chat.
#pragma once

#include "chat/jinjaast.h"
#include "chat/jinjalexer.h"
#include "chat/templateerror.h"

#include <QStringList>

namespace surfing::jinja {

constexpr int kMaxDepth = 100; // nesting of expressions and blocks; deeper is refused, not a stack overflow

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

} // namespace surfing::jinja
