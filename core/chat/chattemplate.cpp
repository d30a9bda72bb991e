#include "chat/chattemplate.h"

#include "base/error.h"
#include "chat/jinjaevaluator.h"
#include "chat/jinjaparser.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>

namespace surfing {
namespace {

// Jinja reads "\r\n" and "\r" as "\n" and drops one newline at the very end (keep_trailing_newline
// is off in transformers' environment).
QString normalised(QString source)
{
    source.replace(QStringLiteral("\r\n"), QStringLiteral("\n"));
    source.replace(QLatin1Char('\r'), QLatin1Char('\n'));
    if (source.endsWith(QLatin1Char('\n')))
        source.chop(1);
    return source;
}

QString tokenContent(const QJsonValue &v)
{
    return v.isObject() ? v.toObject().value(QStringLiteral("content")).toString() : v.toString();
}

QByteArray readFile(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        throw Error(QStringLiteral("cannot read %1: %2").arg(path, file.errorString()));
    return file.readAll();
}

// A string, or [{"name": "default", "template": ...}, {"name": "tool_use", ...}].
QString templateField(const QJsonValue &field, const QString &path)
{
    if (field.isString())
        return field.toString();
    if (field.isArray()) {
        for (const QJsonValue &named : field.toArray()) {
            if (named.toObject().value(QStringLiteral("name")).toString() == QLatin1String("default"))
                return named.toObject().value(QStringLiteral("template")).toString();
        }
        throw Error(QStringLiteral("%1: chat_template lists no template named \"default\"").arg(path));
    }
    if (!field.isUndefined() && !field.isNull())
        throw Error(QStringLiteral("%1: chat_template is neither a string nor a list of named templates").arg(path));
    return QString();
}

} // namespace

ChatTemplate::ChatTemplate(const QString &source, const QHash<QString, QString> &specialTokens)
    : m_source(normalised(source))
    , m_specialTokens(specialTokens)
    , m_body(std::make_shared<const jinja::Body>(jinja::parseTemplate(m_source)))
{
}

std::optional<ChatTemplate> ChatTemplate::load(const QString &modelDir)
{
    const QString path = QDir(modelDir).filePath(QStringLiteral("tokenizer_config.json"));
    const QString jinjaPath = QDir(modelDir).filePath(QStringLiteral("chat_template.jinja"));
    QJsonObject config;
    QString source;
    if (QFile::exists(path)) {
        QJsonParseError parseError;
        const QJsonDocument doc = QJsonDocument::fromJson(readFile(path), &parseError);
        if (!doc.isObject())
            throw Error(QStringLiteral("%1 is not a JSON object: %2").arg(path, parseError.errorString()));
        config = doc.object();
        source = templateField(config.value(QStringLiteral("chat_template")), path);
    }
    const bool ownFile = QFile::exists(jinjaPath); // newer transformers keep it there; it wins
    if (ownFile)
        source = QString::fromUtf8(readFile(jinjaPath));
    if (source.isEmpty())
        return std::nullopt;
    QHash<QString, QString> tokens;
    for (const char *key : {"bos_token", "eos_token", "unk_token", "pad_token", "cls_token", "sep_token", "mask_token"}) {
        const QString content = tokenContent(config.value(QLatin1String(key)));
        if (!content.isEmpty())
            tokens.insert(QLatin1String(key), content);
    }
    try {
        return ChatTemplate(source, tokens);
    } catch (const Error &e) {
        throw Error(QStringLiteral("%1: %2").arg(ownFile ? jinjaPath : path, e.message()));
    }
}

QString ChatTemplate::render(const QVector<ChatMessage> &messages, bool addGenerationPrompt, const QJsonObject &extra) const
{
    jinja::Dict globals;
    jinja::List list;
    for (const ChatMessage &m : messages) {
        jinja::Dict message;
        message.set(QStringLiteral("role"), jinja::Value(m.role));
        message.set(QStringLiteral("content"), jinja::Value(m.content));
        list.push_back(jinja::Value(std::move(message)));
    }
    globals.set(QStringLiteral("messages"), jinja::Value(std::move(list)));
    globals.set(QStringLiteral("add_generation_prompt"), jinja::Value(addGenerationPrompt));
    globals.set(QStringLiteral("tools"), jinja::Value::none());
    globals.set(QStringLiteral("documents"), jinja::Value::none());
    for (auto it = m_specialTokens.begin(); it != m_specialTokens.end(); ++it)
        globals.set(it.key(), jinja::Value(it.value()));
    for (auto it = extra.begin(); it != extra.end(); ++it)
        globals.set(it.key(), jinja::Value::fromJson(it.value()));
    return jinja::renderTemplate(*m_body, m_source, globals);
}

} // namespace surfing
