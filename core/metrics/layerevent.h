// One row of the per-layer timeline: how one unit's weights were obtained and used in one step.
// Plain data, free of libtorch, so the GUI and the CLI's --json can consume it.
#pragma once

#include <QMetaType>
#include <QString>

namespace surfing {

struct LayerEvent {
    int step = 0;            // forward pass number (generation step), from 0
    QString unit;            // chunk name, "layer_3"
    bool cacheHit = false;
    bool prefetched = false; // a hit whose bytes arrived by prefetch for this use: bytes and
                             // fetch times are the prefetch's, so its overlap can be drawn
    bool arriving = false;   // computed on while its bytes were still arriving (client/chunkarrival.h):
                             // compute starts before the fetch ends
    qint64 bytes = 0;        // stored bytes fetched for it (0 on a hit, unless prefetched)
    qint64 fetchStartNs = 0; // timelineClockNs(); fetch times are 0 on a hit, unless prefetched
    qint64 fetchEndNs = 0;
    qint64 waitNs = 0;       // how long compute waited for the weights
    qint64 computeStartNs = 0;
    qint64 computeEndNs = 0;
};

} // namespace surfing

Q_DECLARE_METATYPE(surfing::LayerEvent)
