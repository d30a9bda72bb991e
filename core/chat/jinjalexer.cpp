#include "chat/jinjalexer.h"

#include "chat/templateerror.h"

namespace surfing::jinja {
namespace {

bool isSpace(QChar c)
{
    return c == QLatin1Char(' ') || c == QLatin1Char('\t') || c == QLatin1Char('\n') || c == QLatin1Char('\r')
        || c == QLatin1Char('\f') || c == QLatin1Char('\v');
}

QString rstripped(const QString &text)
{
    int end = int(text.size());
    while (end > 0 && isSpace(text[end - 1]))
        --end;
    return text.left(end);
}

class Lexer
{
public:
    explicit Lexer(const QString &source) : m_src(source) {}
    QVector<Token> run();

private:
    [[noreturn]] void fail(const QString &message, int pos) const { throw TemplateError(message, m_src, pos); }
    bool at(const char *literal) const { return QStringView(m_src).mid(m_pos).startsWith(QLatin1String(literal)); }
    void emitText(int textStart, int tagStart);
    void lexComment(int tagStart);
    void lexTag(bool block);
    void lexToken();
    void lexString();
    void lexNumber();
    void push(Token::Kind kind, const QString &text, int pos)
    {
        Token t;
        t.kind = kind;
        t.text = text;
        t.pos = pos;
        m_tokens.append(t);
    }

    const QString &m_src;
    int m_pos = 0;
    bool m_stripNext = false; // the previous tag ended with "-"
    QVector<Token> m_tokens;
};

QVector<Token> Lexer::run()
{
    while (m_pos < m_src.size()) {
        const int textStart = m_pos;
        int tagStart = int(m_src.indexOf(QLatin1Char('{'), m_pos));
        while (tagStart >= 0 && tagStart + 1 < m_src.size()) {
            const QChar next = m_src[tagStart + 1];
            if (next == QLatin1Char('{') || next == QLatin1Char('%') || next == QLatin1Char('#'))
                break;
            tagStart = int(m_src.indexOf(QLatin1Char('{'), tagStart + 1));
        }
        if (tagStart < 0 || tagStart + 1 >= m_src.size()) {
            emitText(textStart, int(m_src.size()));
            break;
        }
        emitText(textStart, tagStart);
        const QChar kind = m_src[tagStart + 1];
        if (kind == QLatin1Char('#'))
            lexComment(tagStart);
        else
            lexTag(kind == QLatin1Char('%'));
    }
    push(Token::Kind::End, QString(), int(m_src.size()));
    return m_tokens;
}

// The text before a tag, with the whitespace control of the tags on either side applied.
void Lexer::emitText(int textStart, int tagStart)
{
    QString text = m_src.mid(textStart, tagStart - textStart);
    if (m_stripNext) {
        int i = 0;
        while (i < text.size() && isSpace(text[i]))
            ++i;
        text.remove(0, i);
        m_stripNext = false;
    }
    if (tagStart + 2 < m_src.size() + 1 && tagStart < m_src.size()) {
        const QChar kind = tagStart + 1 < m_src.size() ? m_src[tagStart + 1] : QChar();
        const QChar modifier = tagStart + 2 < m_src.size() ? m_src[tagStart + 2] : QChar();
        if (modifier == QLatin1Char('-')) {
            text = rstripped(text);
        } else if (kind != QLatin1Char('{') && modifier != QLatin1Char('+')) { // lstrip_blocks
            const int lineStart = int(text.lastIndexOf(QLatin1Char('\n'))) + 1;
            const bool lineStarting = textStart == 0 || m_src[textStart - 1] == QLatin1Char('\n');
            if (lineStart > 0 || lineStarting) {
                bool blank = lineStart < text.size();
                for (int i = lineStart; i < text.size() && blank; ++i)
                    blank = isSpace(text[i]);
                if (blank)
                    text.truncate(lineStart);
            }
        }
    }
    m_pos = tagStart;
    if (!text.isEmpty())
        push(Token::Kind::Text, text, textStart);
}

void Lexer::lexComment(int tagStart)
{
    const int end = int(m_src.indexOf(QLatin1String("#}"), tagStart + 2));
    if (end < 0)
        fail(QStringLiteral("comment {# is never closed with #}"), tagStart);
    m_pos = end + 2;
    const QChar before = m_src[end - 1];
    if (before == QLatin1Char('-') && end - 1 > tagStart + 1)
        m_stripNext = true;
    else if (before != QLatin1Char('+') && m_pos < m_src.size() && m_src[m_pos] == QLatin1Char('\n'))
        ++m_pos; // trim_blocks
}

void Lexer::lexTag(bool block)
{
    const int tagStart = m_pos;
    push(block ? Token::Kind::BlockBegin : Token::Kind::VarBegin, QString(), tagStart);
    m_pos += 2;
    if (m_pos < m_src.size() && (m_src[m_pos] == QLatin1Char('-') || m_src[m_pos] == QLatin1Char('+')))
        ++m_pos;
    const char *close = block ? "%}" : "}}";
    int brackets = 0; // "}}" inside {'a': {'b': 1}} closes a dict, not the tag
    for (;;) {
        while (m_pos < m_src.size() && isSpace(m_src[m_pos]))
            ++m_pos;
        if (m_pos >= m_src.size())
            fail(block ? QStringLiteral("{% is never closed with %}") : QStringLiteral("{{ is never closed with }}"), tagStart);
        const int endPos = m_pos;
        if (brackets == 0 && (at("-") || (block && at("+"))) && QStringView(m_src).mid(m_pos + 1).startsWith(QLatin1String(close))) {
            const bool strip = m_src[m_pos] == QLatin1Char('-');
            m_pos += 3;
            push(block ? Token::Kind::BlockEnd : Token::Kind::VarEnd, QString(), endPos);
            if (strip)
                m_stripNext = true;
            return;
        }
        if (brackets == 0 && at(close)) {
            m_pos += 2;
            push(block ? Token::Kind::BlockEnd : Token::Kind::VarEnd, QString(), endPos);
            if (block && m_pos < m_src.size() && m_src[m_pos] == QLatin1Char('\n'))
                ++m_pos; // trim_blocks
            return;
        }
        lexToken();
        const Token &last = m_tokens.last();
        if (last.kind == Token::Kind::Operator) {
            if (last.text == QLatin1String("(") || last.text == QLatin1String("[") || last.text == QLatin1String("{"))
                ++brackets;
            else if (brackets > 0 && (last.text == QLatin1String(")") || last.text == QLatin1String("]") || last.text == QLatin1String("}")))
                --brackets;
        }
        if (block && m_tokens.size() >= 2 && m_tokens.last().kind == Token::Kind::Name
            && m_tokens[m_tokens.size() - 2].kind == Token::Kind::BlockBegin && m_tokens.last().text == QLatin1String("raw"))
            fail(QStringLiteral("unsupported tag 'raw'"), m_tokens.last().pos);
    }
}

void Lexer::lexToken()
{
    const QChar c = m_src[m_pos];
    if (c.isLetter() || c == QLatin1Char('_')) {
        const int start = m_pos;
        while (m_pos < m_src.size() && (m_src[m_pos].isLetterOrNumber() || m_src[m_pos] == QLatin1Char('_')))
            ++m_pos;
        push(Token::Kind::Name, m_src.mid(start, m_pos - start), start);
        return;
    }
    if (c.isDigit()) {
        lexNumber();
        return;
    }
    if (c == QLatin1Char('\'') || c == QLatin1Char('"')) {
        lexString();
        return;
    }
    static const char *const operators[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<",
                                            ">", "=", "(", ")", "[", "]", "{", "}", ".", ",", ":", "|"};
    for (const char *op : operators) {
        if (at(op)) {
            push(Token::Kind::Operator, QString::fromLatin1(op), m_pos);
            m_pos += int(qstrlen(op));
            return;
        }
    }
    fail(QStringLiteral("unexpected character '%1'").arg(c), m_pos);
}

void Lexer::lexNumber()
{
    const int start = m_pos;
    bool isFloat = false;
    while (m_pos < m_src.size() && m_src[m_pos].isDigit())
        ++m_pos;
    if (m_pos + 1 < m_src.size() && m_src[m_pos] == QLatin1Char('.') && m_src[m_pos + 1].isDigit()) {
        isFloat = true;
        ++m_pos;
        while (m_pos < m_src.size() && m_src[m_pos].isDigit())
            ++m_pos;
    }
    if (m_pos < m_src.size() && (m_src[m_pos] == QLatin1Char('e') || m_src[m_pos] == QLatin1Char('E'))) {
        int p = m_pos + 1;
        if (p < m_src.size() && (m_src[p] == QLatin1Char('+') || m_src[p] == QLatin1Char('-')))
            ++p;
        if (p < m_src.size() && m_src[p].isDigit()) {
            isFloat = true;
            m_pos = p;
            while (m_pos < m_src.size() && m_src[m_pos].isDigit())
                ++m_pos;
        }
    }
    const QString text = m_src.mid(start, m_pos - start);
    Token t;
    t.pos = start;
    t.text = text;
    bool ok = false;
    if (isFloat) {
        t.kind = Token::Kind::Float;
        t.real = text.toDouble(&ok);
    } else {
        t.kind = Token::Kind::Integer;
        t.integer = text.toLongLong(&ok);
    }
    if (!ok)
        fail(QStringLiteral("number %1 is out of range").arg(text), start);
    m_tokens.append(t);
}

void Lexer::lexString()
{
    const int start = m_pos;
    const QChar quote = m_src[m_pos++];
    QString value;
    for (;;) {
        if (m_pos >= m_src.size())
            fail(QStringLiteral("string is never closed"), start);
        const QChar c = m_src[m_pos++];
        if (c == quote)
            break;
        if (c != QLatin1Char('\\') || m_pos >= m_src.size()) {
            value += c;
            continue;
        }
        const QChar e = m_src[m_pos++];
        const char simple = e.toLatin1();
        switch (simple) {
        case 'n': value += QLatin1Char('\n'); break;
        case 't': value += QLatin1Char('\t'); break;
        case 'r': value += QLatin1Char('\r'); break;
        case 'a': value += QChar(7); break;
        case 'b': value += QChar(8); break;
        case 'f': value += QChar(12); break;
        case 'v': value += QChar(11); break;
        case '0': value += QChar(0); break;
        case '\\': value += QLatin1Char('\\'); break;
        case '\'': value += QLatin1Char('\''); break;
        case '"': value += QLatin1Char('"'); break;
        case '\n': break; // line continuation
        case 'x':
        case 'u':
        case 'U': {
            const int digits = simple == 'x' ? 2 : simple == 'u' ? 4 : 8;
            bool ok = false;
            const uint code = m_src.mid(m_pos, digits).toUInt(&ok, 16);
            if (!ok || m_pos + digits > m_src.size() || code > 0x10FFFF)
                fail(QStringLiteral("bad \\%1 escape in a string").arg(e), m_pos - 2);
            const char32_t c32 = code;
            value += QString::fromUcs4(&c32, 1);
            m_pos += digits;
            break;
        }
        default: value += QLatin1Char('\\') + QString(e); // Python keeps unknown escapes
        }
    }
    push(Token::Kind::String, value, start);
}

} // namespace

QVector<Token> tokenize(const QString &source)
{
    return Lexer(source).run();
}

} // namespace surfing::jinja
