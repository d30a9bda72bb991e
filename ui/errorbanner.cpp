#include "errorbanner.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QStyle>
#include <QToolButton>

namespace surfing::ui {

ErrorBanner::ErrorBanner(QWidget *parent)
    : QWidget(parent)
    , m_icon(new QLabel(this))
    , m_text(new QLabel(this))
    , m_close(new QToolButton(this))
{
    setObjectName(QStringLiteral("errorBanner"));
    setAttribute(Qt::WA_StyledBackground, true);
    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(10, 6, 6, 6);
    m_text->setWordWrap(true);
    m_text->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_close->setAutoRaise(true);
    m_close->setText(QStringLiteral("✕"));
    m_close->setToolTip(tr("Dismiss (Esc)"));
    layout->addWidget(m_icon);
    layout->addWidget(m_text, 1);
    layout->addWidget(m_close, 0, Qt::AlignTop);
    connect(m_close, &QToolButton::clicked, this, &ErrorBanner::dismiss);
    hide();
}

void ErrorBanner::showMessage(const QString &message, const QString &action, Level level)
{
    m_message = message;
    m_action = action;
    m_level = level;
    const bool error = level == Level::Error;
    const QIcon icon = style()->standardIcon(error ? QStyle::SP_MessageBoxCritical : QStyle::SP_MessageBoxInformation);
    m_icon->setPixmap(icon.pixmap(22, 22));
    QString html = QStringLiteral("<b>%1</b>").arg(message.toHtmlEscaped());
    if (!action.isEmpty())
        html += QStringLiteral("<br>%1").arg(action.toHtmlEscaped());
    m_text->setText(html);
    setStyleSheet(error ? QStringLiteral("#errorBanner { background: #fde7e9; border: 1px solid #e5a0a7; border-radius: 4px; }")
                        : QStringLiteral("#errorBanner { background: #e6f1fb; border: 1px solid #9cc3e6; border-radius: 4px; }"));
    show();
}

void ErrorBanner::dismiss()
{
    if (isHidden())
        return;
    hide();
    Q_EMIT dismissed();
}

} // namespace surfing::ui
