// The Playground's right half: chat options (system prompt, raw completion, stop strings), the
// conversation, the prompt box with Run / Stop / Clear, and the figures of the last run. It turns
// what the model streams into replies with live progress, and knows from the model's files what
// to offer (a chat template, text or token ids, sentences for an encoder).
#pragma once

#include "chat/chatmodelinfo.h"
#include "inference/inferenceoptions.h"
#include "playgroundrequest.h"

#include <QElapsedTimer>
#include <QWidget>
#include <optional>

class QCheckBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;

namespace surfing::ui {

class ChatView;

class ChatPanel : public QWidget
{
    Q_OBJECT
public:
    explicit ChatPanel(QWidget *parent = nullptr);

    ChatView *chatView() const { return m_chat; }
    QPlainTextEdit *promptEdit() const { return m_prompt; }
    QPushButton *runButton() const { return m_run; }
    QPushButton *stopButton() const { return m_stop; }
    QPushButton *clearButton() const { return m_clear; }
    QLineEdit *systemPromptEdit() const { return m_system; }
    QCheckBox *rawCompletionBox() const { return m_raw; }
    QLineEdit *stopStringsEdit() const { return m_stops; }
    QString statsText() const;

    // What the model's files say (nullopt: not known yet); sets the defaults that follow from it.
    void setModelInfo(const std::optional<ChatModelInfo> &info);
    const std::optional<ChatModelInfo> &modelInfo() const { return m_info; }
    bool isEncoder() const { return m_info && m_info->isEncoder; }

    // Fills the chat part of `r` for `prompt` as turn `turn` (the turns before it are its history).
    void fillRequest(PlaygroundRequest &r, const QString &prompt, int turn) const;
    // A turn starts: its prompt is echoed and the clock for its figures starts.
    void beginTurn(const QString &prompt);
    void setRunning(bool running);

    void loadSettings();
    void saveSettings() const;

public Q_SLOTS:
    void appendToken(const QString &delta);
    void showResult(const surfing::InferenceResult &result);
    void showSimilarities(const QStringList &sentences, const QVector<double> &toFirst, const QVector<int> &tokenCounts);
    void showFailure(const QString &message);
    void showStats(const QString &text);

Q_SIGNALS:
    void runClicked();
    void stopClicked();

private:
    QWidget *buildOptions();
    QString liveFigures() const;

    QLineEdit *m_system;
    QCheckBox *m_raw;
    QLineEdit *m_stops;
    ChatView *m_chat;
    QPlainTextEdit *m_prompt;
    QPushButton *m_run;
    QPushButton *m_stop;
    QPushButton *m_clear;
    QLabel *m_stats;
    std::optional<ChatModelInfo> m_info;
    QElapsedTimer m_clock;
    qint64 m_firstTokenMs = -1;
    int m_tokens = 0;
    qint64 m_lastProgressMs = -1000;
};

} // namespace surfing::ui
