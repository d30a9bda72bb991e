// The memory estimate shown before a run (core/client/memoryestimate.h): the expected peak and
// whether it fits the memory this machine has available, with the breakdown as a tooltip. The
// main window hosts it in the Playground's setup and keeps it up to date.
#pragma once

#include "client/memoryestimate.h"

#include <QLabel>

namespace surfing::ui {

class MemoryEstimateLabel : public QLabel
{
    Q_OBJECT
public:
    explicit MemoryEstimateLabel(QWidget *parent = nullptr);

    void setEstimate(const MemoryEstimate &estimate);
    void setUnknown(const QString &why); // no manifest to estimate from yet
    bool hasEstimate() const { return m_known; }
    const MemoryEstimate &estimate() const { return m_estimate; }

private:
    MemoryEstimate m_estimate;
    bool m_known = false;
};

} // namespace surfing::ui
