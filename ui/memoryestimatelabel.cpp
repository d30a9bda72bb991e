#include "memoryestimatelabel.h"

#include "base/bytesize.h"

namespace surfing::ui {

MemoryEstimateLabel::MemoryEstimateLabel(QWidget *parent)
    : QLabel(parent)
{
    setObjectName(QStringLiteral("memoryEstimate"));
    setWordWrap(true);
    setTextFormat(Qt::RichText);
    setUnknown(tr("choose a model"));
}

void MemoryEstimateLabel::setEstimate(const MemoryEstimate &e)
{
    m_estimate = e;
    m_known = true;
    const QString peak = formatByteSize(e.peakBytes()).replace(QLatin1Char(' '), QChar(0x00A0));
    const QString available = formatByteSize(e.availableBytes).replace(QLatin1Char(' '), QChar(0x00A0));
    if (e.isKnownNotToFit())
        setText(tr("<span style='color:#c62828'><b>\u26a0 \u2248\u00a0%1 peak, only %2 available.</b> "
                   "Lower the cache budget or the prefetch depth.</span>").arg(peak, available));
    else if (e.isKnownToFit())
        setText(tr("<span style='color:#2e7d32'>\u2713</span> \u2248\u00a0%1 peak of %2 available").arg(peak, available));
    else
        setText(tr("\u2248\u00a0%1 peak").arg(peak));
    setToolTip(tr("Expected peak memory of a run: %1. The client keeps to it: cache budget + prefetch window "
                  "(depth \u00d7 largest layer) + the chunks that are not layers + 200 MiB for the runtime.")
                   .arg(e.breakdown()));
}

void MemoryEstimateLabel::setUnknown(const QString &why)
{
    m_known = false;
    m_estimate = {};
    setText(tr("<i>%1</i>").arg(why.toHtmlEscaped()));
    setToolTip(tr("The expected peak memory of a run appears once the model's manifest is known."));
}

} // namespace surfing::ui
