#include "chat/jinjavalue.h"

#include <QJsonArray>
#include <QJsonObject>
#include <charconv>
#include <cmath>

namespace surfing::jinja {

const Value *Dict::find(const QString &key) const
{
    for (const auto &item : items) {
        if (item.first == key)
            return &item.second;
    }
    return nullptr;
}

void Dict::set(const QString &key, const Value &value)
{
    for (auto &item : items) {
        if (item.first == key) {
            item.second = value;
            return;
        }
    }
    items.emplace_back(key, value);
}

Value::Value(List list) : m_type(Type::List), m_list(std::make_shared<const List>(std::move(list))) {}
Value::Value(Dict dict) : m_type(Type::Dict), m_dict(std::make_shared<Dict>(std::move(dict))) {}

Value Value::undefined(const QString &name)
{
    Value v;
    v.m_string = name;
    return v;
}

Value Value::none()
{
    Value v;
    v.m_type = Type::None;
    return v;
}

Value Value::makeNamespace(Dict dict)
{
    Value v(std::move(dict));
    v.m_type = Type::Namespace;
    return v;
}

Value Value::function(const QString &name)
{
    Value v;
    v.m_type = Type::Function;
    v.m_string = name;
    return v;
}

Value Value::tuple(List items)
{
    Value v(std::move(items));
    v.m_tuple = true;
    return v;
}

Value Value::fromJson(const QJsonValue &json)
{
    switch (json.type()) {
    case QJsonValue::Bool: return Value(json.toBool());
    case QJsonValue::Double: {
        const double d = json.toDouble();
        if (std::floor(d) == d && std::abs(d) < 9e15)
            return Value(qint64(d));
        return Value(d);
    }
    case QJsonValue::String: return Value(json.toString());
    case QJsonValue::Array: {
        List list;
        for (const QJsonValue &item : json.toArray())
            list.push_back(fromJson(item));
        return Value(std::move(list));
    }
    case QJsonValue::Object: {
        Dict dict;
        const QJsonObject object = json.toObject();
        for (auto it = object.begin(); it != object.end(); ++it)
            dict.set(it.key(), fromJson(it.value()));
        return Value(std::move(dict));
    }
    default: return none();
    }
}

bool Value::isIterable() const
{
    return m_type == Type::List || m_type == Type::Dict || m_type == Type::String;
}

bool Value::truthy() const
{
    switch (m_type) {
    case Type::Undefined:
    case Type::None: return false;
    case Type::Bool:
    case Type::Int: return m_int != 0;
    case Type::Float: return m_float != 0.0;
    case Type::String: return !m_string.isEmpty();
    case Type::List: return !m_list->empty();
    case Type::Dict: return !m_dict->items.empty();
    default: return true;
    }
}

const List &Value::list() const
{
    static const List empty;
    return m_list ? *m_list : empty;
}

const Dict &Value::dict() const
{
    static const Dict empty;
    return m_dict ? *m_dict : empty;
}

Dict &Value::namespaceDict() const
{
    return *m_dict;
}

List Value::iterate() const
{
    switch (m_type) {
    case Type::List: return *m_list;
    case Type::Dict: {
        List keys;
        for (const auto &item : m_dict->items)
            keys.push_back(Value(item.first));
        return keys;
    }
    case Type::String: {
        List chars;
        for (char32_t c : m_string.toUcs4())
            chars.push_back(Value(QString::fromUcs4(&c, 1)));
        return chars;
    }
    default: return {};
    }
}

qint64 Value::length() const
{
    switch (m_type) {
    case Type::String: return m_string.toUcs4().size();
    case Type::List: return qint64(m_list->size());
    case Type::Dict:
    case Type::Namespace: return qint64(m_dict->items.size());
    default: return 0;
    }
}

QString floatRepr(double d)
{
    if (std::isnan(d))
        return QStringLiteral("nan");
    if (std::isinf(d))
        return d > 0 ? QStringLiteral("inf") : QStringLiteral("-inf");
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, d);
    QString text = QString::fromLatin1(buffer, int(result.ptr - buffer));
    const int e = int(text.indexOf(QLatin1Char('e')));
    if (e >= 0) { // Python: 1e+16, 1e-05 (two exponent digits at least)
        QString mantissa = text.left(e), exponent = text.mid(e + 1);
        const QChar sign = exponent.startsWith(QLatin1Char('-')) ? QLatin1Char('-') : QLatin1Char('+');
        if (exponent.startsWith(QLatin1Char('-')) || exponent.startsWith(QLatin1Char('+')))
            exponent.remove(0, 1);
        return mantissa + QLatin1Char('e') + sign + exponent.rightJustified(2, QLatin1Char('0'));
    }
    if (!text.contains(QLatin1Char('.')))
        text += QStringLiteral(".0");
    return text;
}

static QString stringRepr(const QString &s)
{
    const QChar quote = s.contains(QLatin1Char('\'')) && !s.contains(QLatin1Char('"')) ? QLatin1Char('"') : QLatin1Char('\'');
    QString out(quote);
    for (QChar c : s) {
        if (c == QLatin1Char('\\') || c == quote)
            out += QLatin1Char('\\') + QString(c);
        else if (c == QLatin1Char('\n'))
            out += QStringLiteral("\\n");
        else if (c == QLatin1Char('\r'))
            out += QStringLiteral("\\r");
        else if (c == QLatin1Char('\t'))
            out += QStringLiteral("\\t");
        else if (c.unicode() < 0x20 || c.unicode() == 0x7f)
            out += QStringLiteral("\\x%1").arg(c.unicode(), 2, 16, QLatin1Char('0'));
        else
            out += c;
    }
    return out + quote;
}

QString Value::str() const
{
    switch (m_type) {
    case Type::Undefined: return QString();
    case Type::None: return QStringLiteral("None");
    case Type::Bool: return m_int ? QStringLiteral("True") : QStringLiteral("False");
    case Type::Int: return QString::number(m_int);
    case Type::Float: return floatRepr(m_float);
    case Type::String: return m_string;
    case Type::Namespace: return QStringLiteral("<Namespace %1>").arg(Value(Dict(*m_dict)).repr());
    case Type::Function: return QStringLiteral("<function %1>").arg(m_string);
    default: return repr();
    }
}

QString Value::repr() const
{
    switch (m_type) {
    case Type::String: return stringRepr(m_string);
    case Type::List: {
        QStringList parts;
        for (const Value &v : *m_list)
            parts << v.repr();
        if (m_tuple)
            return QLatin1Char('(') + parts.join(QStringLiteral(", ")) + (parts.size() == 1 ? QStringLiteral(",)") : QStringLiteral(")"));
        return QLatin1Char('[') + parts.join(QStringLiteral(", ")) + QLatin1Char(']');
    }
    case Type::Dict: {
        QStringList parts;
        for (const auto &item : m_dict->items)
            parts << stringRepr(item.first) + QStringLiteral(": ") + item.second.repr();
        return QLatin1Char('{') + parts.join(QStringLiteral(", ")) + QLatin1Char('}');
    }
    default: return str();
    }
}

QString Value::typeName() const
{
    switch (m_type) {
    case Type::Undefined: return QStringLiteral("undefined");
    case Type::None: return QStringLiteral("NoneType");
    case Type::Bool: return QStringLiteral("bool");
    case Type::Int: return QStringLiteral("int");
    case Type::Float: return QStringLiteral("float");
    case Type::String: return QStringLiteral("str");
    case Type::List: return QStringLiteral("list");
    case Type::Dict: return QStringLiteral("dict");
    case Type::Namespace: return QStringLiteral("namespace");
    case Type::Function: return QStringLiteral("function");
    }
    return QString();
}

static QString jsonString(const QString &s)
{
    QString out(QLatin1Char('"'));
    for (QChar c : s) {
        switch (c.unicode()) {
        case '"': out += QStringLiteral("\\\""); break;
        case '\\': out += QStringLiteral("\\\\"); break;
        case '\n': out += QStringLiteral("\\n"); break;
        case '\r': out += QStringLiteral("\\r"); break;
        case '\t': out += QStringLiteral("\\t"); break;
        case '\b': out += QStringLiteral("\\b"); break;
        case '\f': out += QStringLiteral("\\f"); break;
        default:
            if (c.unicode() < 0x20)
                out += QStringLiteral("\\u%1").arg(c.unicode(), 4, 16, QLatin1Char('0'));
            else
                out += c;
        }
    }
    return out + QLatin1Char('"');
}

QString Value::toJson(int indent, int depth) const
{
    const QString open = indent < 0 ? QString() : QLatin1Char('\n') + QString(indent * (depth + 1), QLatin1Char(' '));
    const QString close = indent < 0 ? QString() : QLatin1Char('\n') + QString(indent * depth, QLatin1Char(' '));
    const QString comma = indent < 0 ? QStringLiteral(", ") : QLatin1Char(',') + open;
    switch (m_type) {
    case Type::None: return QStringLiteral("null");
    case Type::Bool: return m_int ? QStringLiteral("true") : QStringLiteral("false");
    case Type::Int: return QString::number(m_int);
    case Type::Float:
        if (std::isnan(m_float))
            return QStringLiteral("NaN");
        if (std::isinf(m_float))
            return m_float > 0 ? QStringLiteral("Infinity") : QStringLiteral("-Infinity");
        return floatRepr(m_float);
    case Type::String: return jsonString(m_string);
    case Type::List: {
        if (m_list->empty())
            return QStringLiteral("[]");
        QStringList parts;
        for (const Value &v : *m_list)
            parts << v.toJson(indent, depth + 1);
        return QLatin1Char('[') + open + parts.join(comma) + close + QLatin1Char(']');
    }
    case Type::Dict: {
        if (m_dict->items.empty())
            return QStringLiteral("{}");
        QStringList parts;
        for (const auto &item : m_dict->items)
            parts << jsonString(item.first) + QStringLiteral(": ") + item.second.toJson(indent, depth + 1);
        return QLatin1Char('{') + open + parts.join(comma) + close + QLatin1Char('}');
    }
    default: return QString(); // the caller rejects undefined, namespaces and functions first
    }
}

bool Value::equals(const Value &other) const
{
    if (isNumber() && other.isNumber()) {
        if (m_type == Type::Float || other.m_type == Type::Float)
            return toDouble() == other.toDouble();
        return m_int == other.m_int;
    }
    if (m_type != other.m_type)
        return false;
    switch (m_type) {
    case Type::Undefined:
    case Type::None: return true;
    case Type::String:
    case Type::Function: return m_string == other.m_string;
    case Type::List: {
        if (m_list->size() != other.m_list->size())
            return false;
        for (size_t i = 0; i < m_list->size(); ++i) {
            if (!(*m_list)[i].equals((*other.m_list)[i]))
                return false;
        }
        return true;
    }
    case Type::Dict: {
        if (m_dict->items.size() != other.m_dict->items.size())
            return false;
        for (const auto &item : m_dict->items) {
            const Value *v = other.m_dict->find(item.first);
            if (!v || !item.second.equals(*v))
                return false;
        }
        return true;
    }
    default: return m_dict == other.m_dict;
    }
}

} // namespace surfing::jinja
