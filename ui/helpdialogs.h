// The Help menu's keyboard shortcuts list and its link to the documentation.
#pragma once

#include <QString>
#include <QUrl>

class QMenu;
class QWidget;

namespace surfing::ui {

QString shortcutsHtml();
// The README of the checkout the program was built in (build/app/surfing), else the one its
// package installs in share/doc/surfing beside its bin/ (the .deb: /usr/share/doc/surfing, with
// docs/ beside it so the README's links work); /usr/share/doc/surfing as the last resort.
QUrl documentationUrl(const QString &programDir = QString());
// "Keyboard shortcuts" (F1) and "Documentation" entries.
void addHelpActions(QMenu *help, QWidget *parent);

} // namespace surfing::ui
