// The Playground's conversation: each prompt echoed, each reply kept below it with its figures
// (tokens, tok/s, time to first token), live progress while it streams, "stopped" when the user
// stopped it, and Copy / Regenerate buttons per reply.
#pragma once

#include "chat/chattemplate.h"

#include <QScrollArea>
#include <QVector>

class QLabel;
class QPushButton;
class QVBoxLayout;

namespace surfing::ui {

class ChatView : public QScrollArea
{
    Q_OBJECT
public:
    explicit ChatView(QWidget *parent = nullptr);

    // A new turn: the prompt echoed and an empty reply that the next calls fill.
    void addTurn(const QString &prompt);
    void appendToReply(const QString &delta);
    void showProgress(const QString &text);         // live figures under the streaming reply
    // The reply is complete: its final text (replaces what streamed), its figures, and whether
    // the user stopped it.
    void finishReply(const QString &text, const QString &figures, bool stopped);
    void finishReplyHtml(const QString &html, const QString &figures); // encoders: a table
    void failReply(const QString &message);
    // Drops turn `turn` and every later one (regenerate starts again from its prompt).
    void truncate(int turn);
    void clear();

    int turnCount() const { return int(m_turns.size()); }
    QString promptText(int turn) const;
    QString replyText(int turn) const;
    QString figuresText(int turn) const;
    bool isStopped(int turn) const;
    bool isFinished(int turn) const;
    QPushButton *copyButton(int turn) const;
    QPushButton *regenerateButton(int turn) const;
    // The conversation so far as chat messages (finished turns, then `upTo` excluded).
    QVector<ChatMessage> history(int upTo) const;
    QString plainText() const;

Q_SIGNALS:
    void regenerateRequested(int turn);

private:
    struct Turn {
        QWidget *box = nullptr;
        QLabel *prompt = nullptr;
        QLabel *reply = nullptr;
        QLabel *figures = nullptr;
        QPushButton *copy = nullptr;
        QPushButton *regenerate = nullptr;
        QString text;
        bool finished = false;
        bool stopped = false;
    };
    Turn *current();
    void setTurnButtonsEnabled(bool enabled);
    void scrollToEnd();

    QWidget *m_content;
    QVBoxLayout *m_layout;
    QLabel *m_empty;
    QVector<Turn> m_turns;
};

} // namespace surfing::ui
