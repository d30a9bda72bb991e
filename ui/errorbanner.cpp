#include "errorbanner.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QStyle>
#include <QToolButton>

namespace surfing::ui {

ErrorBanner::ErrorBanner(QWidget *parent)
    : QWidget(parent)
    , m_icon(new QLabel(this))
    , m_text(new QLabel(this))
    , m_fix(new QPushButton(this))
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
    layout->addWidget(m_fix, 0, Qt::AlignVCenter);
    m_fix->setObjectName(QStringLiteral("errorBannerFix"));
    m_fix->hide();
    connect(m_fix, &QPushButton::clicked, this, [this] {
        const std::function<void()> fix = m_fixAction; // dismiss() may run before it returns
        dismiss();
        if (fix)
            fix();
    });
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
    m_fix->hide();
    m_fixAction = nullptr;
    setStyleSheet(error ? QStringLiteral("#errorBanner { background: #fde7e9; border: 1px solid #e5a0a7; border-radius: 4px; }")
                        : QStringLiteral("#errorBanner { background: #e6f1fb; border: 1px solid #9cc3e6; border-radius: 4px; }"));
    show();
}

void ErrorBanner::setFixButton(const QString &text, std::function<void()> fix)
{
    m_fix->setText(text);
    m_fixAction = std::move(fix);
    m_fix->setVisible(bool(m_fixAction));
}

void ErrorBanner::dismiss()
{
    if (isHidden())
        return;
    hide();
    m_fix->hide(); // its fix was for this message only
    m_fixAction = nullptr;
    Q_EMIT dismissed();
}

} // namespace surfing::ui
