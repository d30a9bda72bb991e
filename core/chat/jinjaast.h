// The parsed form of a chat template: expressions and statements, each with its offset in the
// source for error messages.
#pragma once

#include "chat/jinjavalue.h"

#include <QString>
#include <QStringList>
#include <memory>
#include <vector>

namespace surfing::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
    enum class Kind {
        Literal,   // value
        Name,      // name
        List,      // args: items (also tuples)
        Dict,      // args: key, value, key, value, ...
        Attr,      // args[0].name
        Item,      // args[0][args[1]]
        Slice,     // args[0][args[1]:args[2]:args[3]] (null parts: omitted)
        Call,      // args[0](args[1..]), keywords name the last keywords.size() arguments
        Filter,    // args[0] | name(args[1..])
        Test,      // args[0] is [not] name(args[1..])
        Unary,     // name: "-", "+", "not"
        Binary,    // name: the operator, also "and", "or", "in", "not in"
        Conditional, // args[1] if args[0] else args[2] (args[2] null: undefined)
    };
    Kind kind = Kind::Literal;
    int pos = 0;
    QString name;
    Value value;
    bool negated = false;
    std::vector<ExprPtr> args;
    QStringList keywords;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Stmt {
    enum class Kind {
        Text,     // text
        Output,   // {{ expr }}
        If,       // conditions[i] -> bodies[i]; a last body without condition is the else
        For,      // for targets in expr [if condition]: bodies[0], else bodies[1]
        Set,      // targets[0] (or targets[0].targets[1]) = expr, or the output of bodies[0]
        Break,
        Continue,
    };
    Kind kind = Kind::Text;
    int pos = 0;
    QString text;
    ExprPtr expr;
    ExprPtr condition;
    std::vector<ExprPtr> conditions;
    std::vector<Body> bodies;
    QStringList targets;
};

} // namespace surfing::jinja
