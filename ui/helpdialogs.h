// The Help menu's keyboard shortcuts list and its link to the documentation.
#pragma once

#include <QString>
#include <QUrl>

class QMenu;
class QWidget;

namespace surfing::ui {

QString shortcutsHtml();
// The docs/ folder of the build tree the program runs from, else share/doc/surfing of its
// installation prefix (/usr/share/doc/surfing as the last resort).
QUrl documentationUrl();
// "Keyboard shortcuts" (F1) and "Documentation" entries.
void addHelpActions(QMenu *help, QWidget *parent);

} // namespace surfing::ui
