// A value inside a chat template: what Jinja (on Python) would hold — undefined, none, bool, int,
// float, str, list, dict, a namespace() (the one mutable object) or a built-in function.
#pragma once

#include <QJsonValue>
#include <QString>
#include <memory>
#include <utility>
#include <vector>

namespace surfing::jinja {

class Value;
using List = std::vector<Value>;

// Insertion-ordered, like a Python dict; templates hold few keys, so lookups walk the list.
struct Dict {
    std::vector<std::pair<QString, Value>> items;
    const Value *find(const QString &key) const;
    void set(const QString &key, const Value &value);
};

class Value
{
public:
    enum class Type { Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Function };

    Value() = default; // undefined
    Value(bool b) : m_type(Type::Bool), m_int(b) {}
    Value(int i) : m_type(Type::Int), m_int(i) {}
    Value(qint64 i) : m_type(Type::Int), m_int(i) {}
    Value(double d) : m_type(Type::Float), m_float(d) {}
    Value(const QString &s) : m_type(Type::String), m_string(s) {}
    Value(const char *s) : Value(QString::fromUtf8(s)) {}
    Value(List list);
    Value(Dict dict);

    static Value undefined(const QString &name);
    static Value none();
    static Value makeNamespace(Dict dict);
    static Value function(const QString &name);
    static Value tuple(List items); // a list that shows as (a, b)
    static Value fromJson(const QJsonValue &json);

    Type type() const { return m_type; }
    bool isUndefined() const { return m_type == Type::Undefined; }
    bool isNone() const { return m_type == Type::None; }
    bool isString() const { return m_type == Type::String; }
    bool isNumber() const { return m_type == Type::Int || m_type == Type::Float || m_type == Type::Bool; }
    bool isMapping() const { return m_type == Type::Dict || m_type == Type::Namespace; }
    bool isIterable() const;

    bool truthy() const;
    qint64 toInt() const { return m_type == Type::Float ? qint64(m_float) : m_int; }
    double toDouble() const { return m_type == Type::Float ? m_float : double(m_int); }
    const QString &string() const { return m_string; }       // the name for undefined/function
    const List &list() const;
    const Dict &dict() const;                                 // dict or namespace
    Dict &namespaceDict() const;                              // mutable: namespace only

    // Items of a for loop / list(): list items, dict keys, string characters; empty for undefined.
    List iterate() const;
    qint64 length() const; // len(); strings count code points

    QString str() const;   // str(): what {{ }} prints (undefined prints nothing)
    QString repr() const;  // repr(): how a list shows its items
    QString typeName() const; // Python's name for the type, for error messages
    // json.dumps(ensure_ascii=False); indent < 0: one line with ", " and ": ".
    QString toJson(int indent = -1, int depth = 0) const;

    bool equals(const Value &other) const;

private:
    Type m_type = Type::Undefined;
    qint64 m_int = 0;
    double m_float = 0;
    QString m_string;
    std::shared_ptr<const List> m_list;
    bool m_tuple = false;
    std::shared_ptr<Dict> m_dict;
};

// Python's repr() of a float: shortest round-trip digits, always with a '.' or an exponent.
QString floatRepr(double d);

} // namespace surfing::jinja
