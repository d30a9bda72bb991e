// An in-window message strip (in the spirit of KMessageWidget): what went wrong and what to do,
// shown above the pages instead of a modal box so nothing blocks and tests can read it.
#pragma once

#include <QWidget>
#include <functional>

class QLabel;
class QPushButton;
class QToolButton;

namespace surfing::ui {

class ErrorBanner : public QWidget
{
    Q_OBJECT
public:
    enum class Level { Error, Info };

    explicit ErrorBanner(QWidget *parent = nullptr);

    // `message`: what happened; `action`: what the user can do about it.
    void showMessage(const QString &message, const QString &action = {}, Level level = Level::Error);
    // A button on the banner that does what the action says (e.g. "Use 496 new tokens"); the
    // banner goes when it is clicked. showMessage() removes it: it belongs to one message.
    void setFixButton(const QString &text, std::function<void()> fix);
    QPushButton *fixButton() const { return m_fix; }
    void dismiss();

    QString message() const { return m_message; }
    QString action() const { return m_action; }
    Level level() const { return m_level; }
    bool isShowingError() const { return !isHidden() && m_level == Level::Error; }

Q_SIGNALS:
    void dismissed();

private:
    QLabel *m_icon;
    QLabel *m_text;
    QPushButton *m_fix;
    QToolButton *m_close;
    std::function<void()> m_fixAction;
    QString m_message;
    QString m_action;
    Level m_level = Level::Error;
};

} // namespace surfing::ui
