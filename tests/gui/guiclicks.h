// Finding what a person sees (a button by its text, a field by its placeholder) and using it the
// way they would: clicks and key presses, for the GUI suites of issue 14.
#pragma once

#include <QAbstractButton>
#include <QApplication>
#include <QComboBox>
#include <QLineEdit>
#include <QMessageBox>
#include <QTest>
#include <QTimer>
#include <functional>

namespace surfing::test {

template <typename T = QAbstractButton>
T *buttonWithText(QWidget *root, const QString &text)
{
    const auto buttons = root->findChildren<T *>();
    for (T *b : buttons)
        if (b->text().remove(QLatin1Char('&')) == text)
            return b;
    return nullptr;
}

// The first line edit whose placeholder starts with `placeholder`.
inline QLineEdit *fieldWithPlaceholder(QWidget *root, const QString &placeholder)
{
    const auto edits = root->findChildren<QLineEdit *>();
    for (QLineEdit *e : edits)
        if (e->placeholderText().startsWith(placeholder))
            return e;
    return nullptr;
}

// The combo box that offers `item` among its entries.
inline QComboBox *comboOffering(QWidget *root, const QString &item)
{
    const auto combos = root->findChildren<QComboBox *>();
    for (QComboBox *c : combos)
        if (c->findText(item) >= 0)
            return c;
    return nullptr;
}

// False (with a warning naming what is wrong) when there is no such button or it is disabled:
// callers write QVERIFY(click(...)).
inline bool click(QAbstractButton *button)
{
    if (!button || !button->isEnabled()) {
        qWarning("click: %s", button ? qPrintable(button->text() + QStringLiteral(" is disabled")) : "no such button");
        return false;
    }
    QTest::mouseClick(button, Qt::LeftButton);
    return true;
}

inline bool typeInto(QLineEdit *edit, const QString &text)
{
    if (!edit)
        return false;
    edit->setFocus();
    edit->selectAll();
    QTest::keyClick(edit, Qt::Key_Backspace);
    QTest::keyClicks(edit, text);
    return edit->text() == text;
}

// Answers the next modal message box by clicking the button with `text` (after `check` looked at it).
inline void answerNextMessageBox(const QString &text, std::function<void(QMessageBox *)> check = {})
{
    QTimer::singleShot(50, [text, check] {
        auto *box = qobject_cast<QMessageBox *>(QApplication::activeModalWidget());
        if (!box) {
            answerNextMessageBox(text, check);
            return;
        }
        if (check)
            check(box);
        for (QAbstractButton *b : box->buttons())
            if (b->text().remove(QLatin1Char('&')) == text)
                QTest::mouseClick(b, Qt::LeftButton);
    });
}

} // namespace surfing::test
