#include "erroradvice.h"

#include <QCoreApplication>

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

QString adviceForRunError(const QString &message, const PlaygroundRequest &r)
{
    using Source = PlaygroundRequest::Source;
    if (says(message, {"tokenizer"}))
        return tr("This model has no tokenizer files, so text cannot be encoded: chunk a model folder that has "
                  "tokenizer.json, vocab.txt or vocab.json.");
    if (says(message, {"unauthorized", "token"})) {
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
