#include "chatview.h"

#include <QApplication>
#include <QClipboard>
#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QScrollBar>
#include <QTextDocument>
#include <QTimer>
#include <QVBoxLayout>

namespace surfing::ui {

namespace {

QLabel *textLabel(QWidget *parent, const QString &objectName)
{
    auto *label = new QLabel(parent);
    label->setObjectName(objectName);
    label->setWordWrap(true);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    label->setTextFormat(Qt::PlainText);
    label->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    return label;
}

} // namespace

ChatView::ChatView(QWidget *parent)
    : QScrollArea(parent)
    , m_content(new QWidget(this))
    , m_layout(new QVBoxLayout(m_content))
    , m_empty(new QLabel(tr("The conversation appears here: each prompt, and the model's reply below it."), m_content))
{
    setWidgetResizable(true);
    setFrameShape(QFrame::StyledPanel);
    m_content->setObjectName(QStringLiteral("chatContent"));
    m_empty->setEnabled(false);
    m_empty->setWordWrap(true);
    m_layout->addWidget(m_empty);
    m_layout->addStretch(1);
    setWidget(m_content);
}

void ChatView::addTurn(const QString &prompt)
{
    m_empty->hide();
    Turn t;
    t.box = new QFrame(m_content);
    t.box->setObjectName(QStringLiteral("chatTurn"));
    auto *layout = new QVBoxLayout(t.box);
    layout->setContentsMargins(4, 4, 4, 8);
    t.prompt = textLabel(t.box, QStringLiteral("chatPrompt"));
    t.prompt->setText(prompt);
    t.prompt->setStyleSheet(QStringLiteral("QLabel { background: palette(alternate-base); border-radius: 6px; padding: 6px; }"));
    t.reply = textLabel(t.box, QStringLiteral("chatReply"));
    QFont replyFont = t.reply->font();
    replyFont.setPointSizeF(replyFont.pointSizeF() * 1.1);
    t.reply->setFont(replyFont);
    t.reply->setContentsMargins(6, 2, 6, 2);
    t.figures = new QLabel(t.box);
    t.figures->setObjectName(QStringLiteral("chatFigures"));
    t.figures->setEnabled(false); // the palette's dimmed text: figures, not content
    t.figures->setWordWrap(true); // a failure's reason is long: it wraps, the view never scrolls sideways
    t.figures->setText(tr("waiting for the first token…"));
    t.copy = new QPushButton(tr("Copy"), t.box);
    t.copy->setToolTip(tr("Copy this reply to the clipboard"));
    t.regenerate = new QPushButton(tr("Regenerate"), t.box);
    t.regenerate->setToolTip(tr("Run this prompt again; later turns are dropped"));
    for (QPushButton *b : {t.copy, t.regenerate}) {
        b->setFlat(true);
        b->setEnabled(false);
    }
    auto *footer = new QHBoxLayout;
    footer->addWidget(t.figures, 1);
    footer->addWidget(t.copy);
    footer->addWidget(t.regenerate);
    layout->addWidget(t.prompt);
    layout->addWidget(t.reply);
    layout->addLayout(footer);
    const int index = int(m_turns.size());
    connect(t.copy, &QPushButton::clicked, this, [this, index] {
        if (index < m_turns.size())
            QApplication::clipboard()->setText(m_turns[index].text);
    });
    connect(t.regenerate, &QPushButton::clicked, this, [this, index] { Q_EMIT regenerateRequested(index); });
    m_layout->insertWidget(m_layout->count() - 1, t.box);
    m_turns.append(t);
    setTurnButtonsEnabled(false);
    scrollToEnd();
}

ChatView::Turn *ChatView::current()
{
    return m_turns.isEmpty() || m_turns.last().finished ? nullptr : &m_turns.last();
}

void ChatView::appendToReply(const QString &delta)
{
    if (Turn *t = current()) {
        t->text += delta;
        t->reply->setText(t->text);
        scrollToEnd();
    }
}

void ChatView::showProgress(const QString &text)
{
    if (Turn *t = current())
        t->figures->setText(text);
}

void ChatView::finishReply(const QString &text, const QString &figures, bool stopped)
{
    Turn *t = current();
    if (!t)
        return;
    t->text = text;
    t->reply->setText(text.isEmpty() ? tr("(no text)") : text);
    t->stopped = stopped;
    t->figures->setText(stopped ? tr("stopped · %1").arg(figures) : figures);
    t->finished = true;
    setTurnButtonsEnabled(true);
    scrollToEnd();
}

void ChatView::finishReplyHtml(const QString &html, const QString &figures)
{
    Turn *t = current();
    if (!t)
        return;
    t->reply->setTextFormat(Qt::RichText);
    t->reply->setText(html);
    QTextDocument document;
    document.setHtml(html);
    t->text = document.toPlainText();
    t->figures->setText(figures);
    t->finished = true;
    setTurnButtonsEnabled(true);
}

void ChatView::failReply(const QString &message)
{
    Turn *t = current();
    if (!t)
        return;
    t->figures->setText(tr("failed: %1").arg(message));
    t->finished = true;
    t->copy->setEnabled(false);
    setTurnButtonsEnabled(true);
}

void ChatView::truncate(int turn)
{
    while (m_turns.size() > qMax(0, turn)) {
        delete m_turns.last().box;
        m_turns.removeLast();
    }
    m_empty->setVisible(m_turns.isEmpty());
}

void ChatView::clear()
{
    truncate(0);
}

// While a reply streams, no Copy or Regenerate: the buttons act on finished replies.
void ChatView::setTurnButtonsEnabled(bool enabled)
{
    for (const Turn &t : std::as_const(m_turns)) {
        t.copy->setEnabled(enabled && t.finished && !t.text.isEmpty());
        t.regenerate->setEnabled(enabled && t.finished);
    }
}

void ChatView::scrollToEnd()
{
    QTimer::singleShot(0, this, [this] { verticalScrollBar()->setValue(verticalScrollBar()->maximum()); });
}

QString ChatView::promptText(int turn) const { return m_turns.value(turn).prompt ? m_turns[turn].prompt->text() : QString(); }
QString ChatView::replyText(int turn) const { return m_turns.value(turn).text; }
QString ChatView::figuresText(int turn) const { return m_turns.value(turn).figures ? m_turns[turn].figures->text() : QString(); }
bool ChatView::isStopped(int turn) const { return m_turns.value(turn).stopped; }
bool ChatView::isFinished(int turn) const { return m_turns.value(turn).finished; }
QPushButton *ChatView::copyButton(int turn) const { return m_turns.value(turn).copy; }
QPushButton *ChatView::regenerateButton(int turn) const { return m_turns.value(turn).regenerate; }

QVector<ChatMessage> ChatView::history(int upTo) const
{
    QVector<ChatMessage> messages;
    for (int i = 0; i < qMin(upTo, int(m_turns.size())); ++i) {
        if (!m_turns[i].finished || m_turns[i].text.isEmpty())
            continue; // a failed or empty reply is not part of what the model said
        messages.append({QStringLiteral("user"), m_turns[i].prompt->text()});
        messages.append({QStringLiteral("assistant"), m_turns[i].text});
    }
    return messages;
}

QString ChatView::plainText() const
{
    QStringList parts;
    for (const Turn &t : m_turns)
        parts << t.prompt->text() << t.text;
    return parts.join(QLatin1Char('\n'));
}

} // namespace surfing::ui
