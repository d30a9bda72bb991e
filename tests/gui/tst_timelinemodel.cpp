// The dashboard timeline's rows with mixture-of-experts units: an expert first picked steps later
// joins its layer (by expert index) instead of landing after the LM head.
#include "timelinemodel.h"

#include <QtTest>

using namespace surfing;
using namespace surfing::ui;

class TestTimelineModel : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void expertsJoinTheirLayer();
};

static LayerEvent layerEvent(int step, const char *unit)
{
    LayerEvent e;
    e.step = step;
    e.unit = QLatin1String(unit);
    e.computeStartNs = 1000 + step;
    e.computeEndNs = 2000 + step;
    return e;
}

void TestTimelineModel::expertsJoinTheirLayer()
{
    TimelineModel model;
    model.addEvents({layerEvent(0, "embed_tokens"), layerEvent(0, "layer_0"), layerEvent(0, "layer_0_expert_3"), layerEvent(0, "layer_1"),
                     layerEvent(0, "layer_1_expert_2"), layerEvent(0, "norm"), layerEvent(0, "lm_head")});
    model.addEvents({layerEvent(1, "embed_tokens"), layerEvent(1, "layer_0"), layerEvent(1, "layer_0_expert_5"), layerEvent(1, "layer_0_expert_1"),
                     layerEvent(1, "layer_1"), layerEvent(1, "layer_1_expert_7"), layerEvent(1, "norm"), layerEvent(1, "lm_head")});
    model.addEvents({layerEvent(2, "layer_10_expert_0"), layerEvent(2, "layer_1_expert_0")});
    QCOMPARE(model.units(), (QStringList{QStringLiteral("embed_tokens"), QStringLiteral("layer_0"), QStringLiteral("layer_0_expert_1"),
                                         QStringLiteral("layer_0_expert_3"), QStringLiteral("layer_0_expert_5"), QStringLiteral("layer_1"),
                                         QStringLiteral("layer_1_expert_0"), QStringLiteral("layer_1_expert_2"),
                                         QStringLiteral("layer_1_expert_7"), QStringLiteral("norm"), QStringLiteral("lm_head"),
                                         QStringLiteral("layer_10_expert_0")}));
    QCOMPARE(model.rowCount(), 17);
}

QTEST_GUILESS_MAIN(TestTimelineModel)
#include "tst_timelinemodel.moc"
