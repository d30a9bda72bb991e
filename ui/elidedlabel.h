// A one-line label that elides its text to the width it is given instead of growing the layout
// (long model lists, paths); the whole text is its tooltip.
#pragma once

#include <QLabel>

namespace surfing::ui {

class ElidedLabel : public QLabel
{
    Q_OBJECT
public:
    explicit ElidedLabel(QWidget *parent = nullptr, Qt::TextElideMode mode = Qt::ElideRight);

    void setFullText(const QString &text); // plain text
    QString fullText() const { return m_full; }
    QSize minimumSizeHint() const override;

protected:
    void resizeEvent(QResizeEvent *event) override;

private:
    void elide();

    QString m_full;
    Qt::TextElideMode m_mode;
};

} // namespace surfing::ui
