#include "erroradvice.h"

#include <QCoreApplication>
#include <QRegularExpression>

namespace surfing::ui {

namespace {
QString tr(const char *text)
{
    return QCoreApplication::translate("surfing::ui::ErrorAdvice", text);
}

bool says(const QString &message, std::initializer_list<const char *> words)
{
    for (const char *w : words)
        if (message.contains(QLatin1String(w), Qt::CaseInsensitive))
            return true;
    return false;
}
} // namespace

// The wording of InferenceSession::Private::checkContext (tests/gui/tst_chat runs it for real).
std::optional<ContextOverflow> contextOverflowIn(const QString &message)
{
    static const QRegularExpression withReply(QStringLiteral(
        "the prompt \\((\\d+) tokens\\) plus max new tokens \\((\\d+)\\) is more than the (\\d+) positions"));
    static const QRegularExpression promptAlone(QStringLiteral(
        "the prompt is (\\d+) tokens, but this model holds (\\d+) positions"));
    QRegularExpressionMatch m = withReply.match(message);
    if (m.hasMatch())
        return ContextOverflow{m.captured(1).toInt(), m.captured(2).toInt(), m.captured(3).toInt()};
    m = promptAlone.match(message);
    if (m.hasMatch())
        return ContextOverflow{m.captured(1).toInt(), 0, m.captured(2).toInt()};
    return std::nullopt;
}

QString adviceForRunError(const QString &message, const PlaygroundRequest &r)
{
    using Source = PlaygroundRequest::Source;
    if (const std::optional<ContextOverflow> overflow = contextOverflowIn(message)) {
        if (overflow->promptAloneTooLong())
            return tr("This model holds %1 tokens, prompt and reply together, and the prompt (with the conversation "
                      "before it) takes %2: shorten it, or press Clear to start a new conversation, then Run again.")
                .arg(overflow->contextLength).arg(overflow->promptTokens);
        return tr("This model holds %1 tokens, prompt and reply together, and the prompt takes %2: set "
                  "Playground \u203a Sampling \u203a Max new tokens to at most %3, then Regenerate the reply.")
            .arg(overflow->contextLength).arg(overflow->promptTokens).arg(overflow->allowedNewTokens());
    }
    if (says(message, {"tokenizer"}))
        return tr("This model has no tokenizer files, so text cannot be encoded: chunk a model folder that has "
                  "tokenizer.json, vocab.txt or vocab.json.");
    if (says(message, {"unauthorized", "wrong token", "needs a token"})) {
        if (r.source == Source::LocalServer)
            return tr("This app's server asks for the token in Server page \u203a Token: stop the server, clear or "
                      "correct that field, start it again and press Run.");
        return tr("The server refused the token. Type the token it was started with in Server page \u203a "
                  "\u201cOr use a remote server\u201d \u203a Token, press \u201cUse in Playground\u201d, then Run again.");
    }
    if (says(message, {"memory", "would not fit"}))
        return tr("Lower \u201cCache budget\u201d or \u201cCache chunks\u201d and the prefetch depth in the Playground, then Run again.");
    if (says(message, {"hash", "sha-256", "sha256", "changed after chunking"}))
        return tr("The chunks no longer match their manifest: chunk the model again on the Chunk page and serve the new folder.");
    if (says(message, {"config.json"}))
        return tr("Chunk the model again on the Chunk page: its config.json is missing or was changed.");
    if (says(message, {"not_found", "no default model", "no model named", "unknown model"}))
        return tr("That server does not serve this model: pick another in Playground \u203a Model, or end the URL "
                  "with /MODEL on the Server page.");
    if (says(message, {"cannot connect", "refused", "timed out", "timeout", "connection", "host not found", "closed"})) {
        if (r.source == Source::LocalServer)
            return tr("This app's server did not answer: check it runs on the Server page (Start server, Ctrl+R) and Run again.");
        if (r.source == Source::RemoteServer)
            return tr("Nothing answered at %1: check Server page \u203a \u201cOr use a remote server\u201d \u203a URL "
                      "(host and port) and that the server runs there, then Run again.").arg(r.serverUrl.toString());
    }
    if (r.source == Source::ChunkFolder)
        return tr("Check the chunk folder chosen in Playground \u203a Model (chunk the model again if it is damaged), then Run again.");
    return tr("Check the Playground's settings and press Run again.");
}

} // namespace surfing::ui
