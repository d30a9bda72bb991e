#include "chatpanel.h"

#include "chat/stopconditions.h"
#include "chatview.h"
#include "formatting.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QTextDocument>
#include <QVBoxLayout>

namespace surfing::ui {

namespace {

// "1 token", "2 tokens" (no translations are loaded, so tr()'s %n plurals would print "token(s)").
QString counted(qint64 n, const QString &one, const QString &many)
{
    return QStringLiteral("%1 %2").arg(n).arg(n == 1 ? one : many);
}

QString tokens(qint64 n)
{
    return counted(n, ChatPanel::tr("token"), ChatPanel::tr("tokens"));
}

QString stopReasonText(const QString &reason)
{
    if (reason == QLatin1String("eos"))
        return ChatPanel::tr("ended: end of sequence");
    if (reason == QLatin1String("stop_string"))
        return ChatPanel::tr("ended: stop string");
    if (reason == QLatin1String("max_tokens"))
        return ChatPanel::tr("ended: max new tokens");
    return QString();
}

} // namespace

ChatPanel::ChatPanel(QWidget *parent)
    : QWidget(parent)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_chat = new ChatView(this);
    m_prompt = new QPlainTextEdit(this);
    m_prompt->setObjectName(QStringLiteral("promptEdit"));
    m_prompt->setTabChangesFocus(true); // Tab leaves the prompt, as in any form
    m_prompt->setMaximumHeight(96);
    m_run = new QPushButton(tr("Run"), this);
    m_run->setProperty("primary", true);
    m_run->setToolTip(tr("Send the prompt (Ctrl+Return)"));
    m_stop = new QPushButton(tr("Stop"), this);
    m_stop->setToolTip(tr("Stop after the current token (Ctrl+.)"));
    m_clear = new QPushButton(tr("Clear"), this);
    m_clear->setToolTip(tr("Start a new conversation"));
    m_stats = new QLabel(this);
    m_stats->setObjectName(QStringLiteral("runStats"));
    m_stats->setWordWrap(true);
    m_stats->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto *buttons = new QHBoxLayout;
    buttons->addWidget(m_run);
    buttons->addWidget(m_stop);
    buttons->addWidget(m_clear);
    buttons->addWidget(m_stats, 1);
    layout->addWidget(buildOptions());
    layout->addWidget(m_chat, 1);
    layout->addWidget(m_prompt);
    layout->addLayout(buttons);
    connect(m_run, &QPushButton::clicked, this, &ChatPanel::runClicked);
    connect(m_stop, &QPushButton::clicked, this, &ChatPanel::stopClicked);
    connect(m_clear, &QPushButton::clicked, this, [this] {
        m_chat->clear();
        m_stats->clear();
    });
    setModelInfo(std::nullopt);
    setRunning(false);
}

QWidget *ChatPanel::buildOptions()
{
    auto *row = new QWidget(this);
    auto *layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    m_system = new QLineEdit(row);
    m_system->setObjectName(QStringLiteral("systemPrompt"));
    m_system->setPlaceholderText(tr("System prompt (optional)"));
    m_system->setToolTip(tr("The system message at the start of the conversation (chat models)"));
    m_system->setClearButtonEnabled(true);
    m_raw = new QCheckBox(tr("Raw completion"), row);
    m_raw->setToolTip(tr("Continue the prompt as typed, without the model's chat template (base models such as stories260K)"));
    m_stops = new QLineEdit(row);
    m_stops->setObjectName(QStringLiteral("stopStrings"));
    m_stops->setPlaceholderText(tr("Stop at…"));
    m_stops->setToolTip(tr("Stop when the reply contains one of these strings, separated by commas "
                           "(\\n newline, \\, comma). The model's end-of-sequence tokens always stop it."));
    m_stops->setMaximumWidth(160);
    connect(m_raw, &QCheckBox::toggled, this, [this](bool raw) { m_system->setEnabled(!raw && m_raw->isEnabled()); });
    layout->addWidget(m_system, 3);
    layout->addWidget(m_raw);
    layout->addWidget(m_stops, 1);
    return row;
}

QString ChatPanel::statsText() const
{
    return m_stats->text();
}

void ChatPanel::setModelInfo(const std::optional<ChatModelInfo> &info)
{
    m_info = info;
    const bool encoder = info && info->isEncoder;
    const bool ids = info && !info->isEncoder && !info->hasTokenizer;
    // Not known yet (a remote model before it opens): the template is used if the model has one.
    const bool chat = !info || (!encoder && !ids && info->hasChatTemplate);
    m_raw->setChecked(!chat);
    m_raw->setEnabled(chat);
    m_system->setEnabled(chat && !m_raw->isChecked());
    m_stops->setEnabled(!encoder && !ids);
    if (info && !info->templateError.isEmpty())
        m_raw->setToolTip(tr("The model's chat template is not supported, so prompts go in raw: %1").arg(info->templateError));
    else if (!chat)
        m_raw->setToolTip(tr("This model has no chat template: prompts are continued as typed"));
    else
        m_raw->setToolTip(tr("Continue the prompt as typed, without the model's chat template"));
    if (encoder)
        m_prompt->setPlaceholderText(tr("One sentence per line: each is encoded and compared with the first (Ctrl+Return)."));
    else if (ids)
        m_prompt->setPlaceholderText(tr("This model has no tokenizer: type token ids, numbers separated by spaces "
                                        "(e.g. 0 37 5), and press Ctrl+Return. The reply is token ids too."));
    else
        m_prompt->setPlaceholderText(tr("Type a message and press Ctrl+Return."));
}

void ChatPanel::fillRequest(PlaygroundRequest &r, const QString &prompt, int turn) const
{
    r.prompt = prompt;
    r.rawCompletion = m_raw->isChecked();
    r.messages.clear();
    const QString system = m_system->text().trimmed();
    if (!system.isEmpty() && m_system->isEnabled())
        r.messages.append({QStringLiteral("system"), system});
    r.messages += m_chat->history(turn);
    r.messages.append({QStringLiteral("user"), prompt});
    if (m_stops->isEnabled())
        r.options.stopStrings = parseStopList(m_stops->text());
}

void ChatPanel::beginTurn(const QString &prompt)
{
    m_chat->addTurn(prompt);
    m_clock.start();
    m_firstTokenMs = -1;
    m_tokens = 0;
    m_lastProgressMs = -1000;
    m_stats->clear();
}

void ChatPanel::setRunning(bool running)
{
    m_run->setEnabled(!running);
    m_stop->setEnabled(running);
    m_clear->setEnabled(!running);
}

QString ChatPanel::liveFigures() const
{
    const qint64 now = m_clock.elapsed();
    const double seconds = (now - m_firstTokenMs) / 1000.0;
    const QString rate = m_tokens > 1 && seconds > 0 ? tr("%1 tok/s").arg((m_tokens - 1) / seconds, 0, 'f', 1) : tr("… tok/s");
    return tr("%1 so far · %2 · first token %3").arg(tokens(m_tokens), rate, formatMilliseconds(double(m_firstTokenMs)));
}

void ChatPanel::appendToken(const QString &delta)
{
    if (m_tokens++ == 0)
        m_firstTokenMs = m_clock.elapsed();
    m_chat->appendToReply(delta);
    // A figure per token would flicker: the live line changes at most five times a second.
    if (m_clock.elapsed() - m_lastProgressMs >= 200 || m_tokens == 1) {
        m_lastProgressMs = m_clock.elapsed();
        m_chat->showProgress(liveFigures());
        m_stats->setText(tr("Generating: %1").arg(liveFigures()));
    }
}

void ChatPanel::showResult(const InferenceResult &result)
{
    const InferenceStats &s = result.stats;
    const QString cache = tr("cache hits %1% · fetched %2 · waited %3")
                              .arg(100.0 * s.cacheHitRate(), 0, 'f', 0)
                              .arg(formatBytes(s.bytesFetched), formatMilliseconds(s.fetchWaitNs / 1e6));
    if (result.newIds.isEmpty() && result.stopReason.isEmpty()) { // an encoder: nothing generated
        m_stats->setText(tr("%1 tokens encoded in %2 · %3").arg(s.promptTokens).arg(formatMilliseconds(s.totalNs / 1e6), cache));
        const QString html = result.text.toHtmlEscaped()
            + tr("<p><i>Type two or more sentences, one per line, to compare them with the first.</i></p>");
        m_chat->finishReplyHtml(html, tr("%1 encoded").arg(tokens(s.promptTokens)));
        return;
    }
    QString text = result.text;
    if (m_info && !m_info->hasTokenizer) { // no tokenizer: the ids are the reply
        QStringList ids;
        for (qint64 id : result.newIds)
            ids << QString::number(id);
        text = ids.join(QLatin1Char(' '));
    }
    QStringList figures{tokens(s.newTokens), tr("%1 tok/s").arg(s.tokensPerSecond(), 0, 'f', 1),
                        tr("first token %1").arg(formatMilliseconds(s.timeToFirstTokenNs / 1e6))};
    if (!stopReasonText(result.stopReason).isEmpty())
        figures << stopReasonText(result.stopReason);
    m_chat->finishReply(text, figures.join(QStringLiteral(" · ")), result.stopReason == QLatin1String("cancelled"));
    m_stats->setText(tr("%1 prompt + %2 new tokens · %3 tok/s · first token %4 · %5")
                         .arg(s.promptTokens).arg(s.newTokens).arg(s.tokensPerSecond(), 0, 'f', 1)
                         .arg(formatMilliseconds(s.timeToFirstTokenNs / 1e6), cache));
}

void ChatPanel::showSimilarities(const QStringList &sentences, const QVector<double> &toFirst, const QVector<int> &tokenCounts)
{
    QString html = tr("<p>Cosine similarity of mean-pooled <code>last_hidden_state</code> to the first line:</p>"
                      "<table cellpadding=4><tr><th align=right>similarity</th><th align=right>tokens</th><th align=left>sentence</th></tr>");
    int total = 0;
    for (int i = 0; i < sentences.size(); ++i) {
        total += tokenCounts.value(i);
        html += QStringLiteral("<tr><td align=right><b>%1</b></td><td align=right>%2</td><td>%3</td></tr>")
                    .arg(toFirst.value(i), 0, 'f', 4).arg(tokenCounts.value(i)).arg(sentences.at(i).toHtmlEscaped());
    }
    m_chat->finishReplyHtml(html + QStringLiteral("</table>"),
                            counted(sentences.size(), tr("sentence"), tr("sentences")) + QStringLiteral(" · ") + tokens(total));
}

void ChatPanel::showFailure(const QString &message)
{
    m_chat->failReply(message);
    m_stats->setText(tr("Failed"));
}

void ChatPanel::showStats(const QString &text)
{
    m_stats->setText(text);
}

void ChatPanel::loadSettings()
{
    QSettings s;
    m_system->setText(s.value(QStringLiteral("playground/systemPrompt")).toString());
    m_stops->setText(s.value(QStringLiteral("playground/stopStrings")).toString());
}

void ChatPanel::saveSettings() const
{
    QSettings s;
    s.setValue(QStringLiteral("playground/systemPrompt"), m_system->text());
    s.setValue(QStringLiteral("playground/stopStrings"), m_stops->text());
}

} // namespace surfing::ui
