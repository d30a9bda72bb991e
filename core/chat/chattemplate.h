// A model's chat template (tokenizer_config.json "chat_template"): turns a conversation into the
// prompt text the model was trained on, as transformers' apply_chat_template does. The template
// language is the subset of Jinja the shipped templates of the supported families use; anything
// else is refused with an error naming it and its position.
//
//   if (auto chat = ChatTemplate::load(modelDir))
//       prompt = chat->render({{"system", "Be brief."}, {"user", "Hi"}});
#pragma once

#include <QHash>
#include <QJsonObject>
#include <QString>
#include <QVector>
#include <memory>
#include <optional>

namespace surfing {

namespace jinja {
struct Stmt;
}

struct ChatMessage {
    QString role;    // "system", "user" or "assistant"
    QString content;
};

class ChatTemplate
{
public:
    // Parses `source`; `specialTokens` are the variables transformers passes along (bos_token,
    // eos_token, ...). Throws jinja::TemplateError (a surfing::Error) naming an unsupported construct.
    explicit ChatTemplate(const QString &source, const QHash<QString, QString> &specialTokens = {});

    // MODEL_DIR/chat_template.jinja, else tokenizer_config.json's chat_template (a string, or the
    // "default" of a list of named templates), with the special tokens of tokenizer_config.json;
    // nullopt when there is none. Throws surfing::Error for an unreadable file or an unsupported
    // template.
    static std::optional<ChatTemplate> load(const QString &modelDir);

    // The prompt for `messages`; with addGenerationPrompt the header of the assistant's reply is
    // appended. `extra` adds template variables (e.g. enable_thinking). Throws jinja::TemplateError.
    QString render(const QVector<ChatMessage> &messages, bool addGenerationPrompt = true,
                   const QJsonObject &extra = {}) const;

    const QString &source() const { return m_source; }

private:
    QString m_source;
    QHash<QString, QString> m_specialTokens;
    std::shared_ptr<const std::vector<std::unique_ptr<jinja::Stmt>>> m_body;
};

} // namespace surfing
