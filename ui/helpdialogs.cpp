#include "helpdialogs.h"

#include <QAction>
#include <QCoreApplication>
#include <QDesktopServices>
#include <QDir>
#include <QFileInfo>
#include <QMenu>
#include <QMessageBox>

namespace surfing::ui {

QString shortcutsHtml()
{
    const QList<QPair<QString, QString>> rows = {
        {QStringLiteral("Ctrl+1 … Ctrl+4"), QCoreApplication::translate("Help", "Chunk, Server, Playground, Dashboard page")},
        {QStringLiteral("Ctrl+O"), QCoreApplication::translate("Help", "Open a model folder")},
        {QStringLiteral("Ctrl+Shift+O"), QCoreApplication::translate("Help", "Open a model file")},
        {QStringLiteral("Ctrl+Return"), QCoreApplication::translate("Help", "Chunk page: chunk the model · Playground: send the prompt")},
        {QStringLiteral("Esc"), QCoreApplication::translate("Help", "Chunk page: cancel chunking · elsewhere: dismiss the message")},
        {QStringLiteral("Ctrl+."), QCoreApplication::translate("Help", "Playground: stop generating")},
        {QStringLiteral("Tab"), QCoreApplication::translate("Help", "Playground: leave the prompt for the next field")},
        {QStringLiteral("Ctrl+R"), QCoreApplication::translate("Help", "Start or stop the server")},
        {QStringLiteral("Ctrl+P"), QCoreApplication::translate("Help", "Dashboard: pause or resume")},
        {QStringLiteral("F1"), QCoreApplication::translate("Help", "This list")},
        {QStringLiteral("Ctrl+Q"), QCoreApplication::translate("Help", "Quit")},
    };
    QString html = QStringLiteral("<table cellpadding=3>");
    for (const auto &row : rows)
        html += QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>").arg(row.first.toHtmlEscaped(), row.second.toHtmlEscaped());
    html += QStringLiteral("</table><p>%1 <a href=\"%2\">%2</a></p>")
                .arg(QCoreApplication::translate("Help", "Documentation:"), documentationUrl().toString().toHtmlEscaped());
    return html;
}

QUrl documentationUrl(const QString &programDir)
{
    const QDir app(programDir.isEmpty() ? QCoreApplication::applicationDirPath() : programDir);
    // A README with docs/ beside it: the checkout (build/app/surfing), then the installed package.
    for (const QString &root : {QStringLiteral("../.."), QStringLiteral("../share/doc/surfing")}) {
        const QDir dir(QDir::cleanPath(app.filePath(root)));
        if (dir.exists(QStringLiteral("README.md")) && dir.exists(QStringLiteral("docs")))
            return QUrl::fromLocalFile(dir.filePath(QStringLiteral("README.md")));
    }
    return QUrl::fromLocalFile(QStringLiteral("/usr/share/doc/surfing"));
}

void addHelpActions(QMenu *help, QWidget *parent)
{
    QAction *keys = help->addAction(QCoreApplication::translate("Help", "&Keyboard shortcuts"), parent, [parent] {
        QMessageBox box(QMessageBox::Information, QCoreApplication::translate("Help", "Keyboard shortcuts"), shortcutsHtml(),
                        QMessageBox::Close, parent);
        box.setTextFormat(Qt::RichText);
        box.setTextInteractionFlags(Qt::TextBrowserInteraction);
        box.exec();
    });
    keys->setObjectName(QStringLiteral("shortcutsAction"));
    keys->setShortcut(QKeySequence(Qt::Key_F1));
    QAction *docs = help->addAction(QCoreApplication::translate("Help", "&Documentation"), parent,
                                    [] { QDesktopServices::openUrl(documentationUrl()); });
    docs->setObjectName(QStringLiteral("documentationAction"));
}

} // namespace surfing::ui
