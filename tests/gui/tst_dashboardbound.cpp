// The Dashboard's bound line (issue 13): chunk bytes fetched per generated token and the rate
// they arrived at, integrated over the samples of the window shown, on a real DashboardPage.
#include "dashboardpage.h"
#include "metricshistorymodel.h"
#include "metricssampler.h"
#include "timelinemodel.h"

#include <QApplication>
#include <QtTest>

using namespace surfing::ui;

class TestDashboardBound : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void boundLineShowsBytesPerTokenAndRate();
    void windowLeavesOlderSamplesOut();
};

namespace {

MetricsSample sample(double seconds, double mbPerSecond, double tokensPerSecond)
{
    MetricsSample s;
    s.seconds = seconds;
    s.throughputMbps = mbPerSecond;
    s.tokensPerSecond = tokensPerSecond;
    return s;
}

} // namespace

void TestDashboardBound::boundLineShowsBytesPerTokenAndRate()
{
    MetricsHistoryModel history;
    MetricsSampler sampler(&history);
    TimelineModel timeline;
    DashboardPage page(&history, &sampler, &timeline);
    QVERIFY(page.boundText().isEmpty());
    // 0.5 s at 400 MiB/s and 2 tokens/s, then 0.5 s at 200 MiB/s and 2 tokens/s: 300 MiB over
    // 2 tokens in 1 s. Written in binary units, as the CLI and the rest of the window write them.
    history.append(sample(0.5, 400, 2));
    history.append(sample(1.0, 200, 2));
    page.refresh();
    QCOMPARE(page.boundText(), QStringLiteral("fetched 150.0\u00a0MiB per token at 300.0\u00a0MiB/s · "));
    // Bytes but no token yet (the prompt's pass): no per-token figure.
    QCOMPARE(DashboardPage::boundText({sample(1.0, 80, 0)}, 0), QStringLiteral("fetched 80.0\u00a0MiB at 80.0\u00a0MiB/s "));
    QCOMPARE(DashboardPage::boundText({sample(1.0, 0, 3)}, 0), QStringLiteral("fetched nothing "));
    // A small model: KiB per token, not "0.00 MB".
    QCOMPARE(DashboardPage::boundText({sample(1.0, 0.5, 10)}, 0), QStringLiteral("fetched 51.2\u00a0KiB per token at 512.0\u00a0KiB/s · "));
}

void TestDashboardBound::windowLeavesOlderSamplesOut()
{
    const QVector<MetricsSample> samples{sample(10, 1000, 1), sample(20, 100, 1), sample(30, 100, 1)};
    QCOMPARE(DashboardPage::boundText(samples, 15), QStringLiteral("fetched 100.0\u00a0MiB per token at 100.0\u00a0MiB/s · "));
    QCOMPARE(DashboardPage::boundText(samples, 0), QStringLiteral("fetched 400.0\u00a0MiB per token at 400.0\u00a0MiB/s · "));
}

QTEST_MAIN(TestDashboardBound)
#include "tst_dashboardbound.moc"
