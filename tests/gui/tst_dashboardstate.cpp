// Issue 14, what an LM Studio user expects of the Dashboard and the Playground's setup: the
// timeline shows one run with one colour per kind and a scale that holds still, CPU beside memory,
// lines that break at idle gaps, tok/s on its own axis, the memory estimate and its warning, a
// layout that holds at 1280x800, settings that are kept, byte sizes written one way.
#include "base/bytesize.h"
#include "dashboardpage.h"
#include "formatting.h"
#include "guiclicks.h"
#include "guitestsupport.h"
#include "inferencecontroller.h"
#include "mainwindow.h"
#include "memoryestimatelabel.h"
#include "metricshistorymodel.h"
#include "playgroundpage.h"
#include "requestlogmodel.h"
#include "serverpage.h"
#include "testsupport.h"
#include "timelinemodel.h"
#include "timelinewidget.h"
#include "timeserieschart.h"

#include <QAbstractSpinBox>
#include <QDir>
#include <QGroupBox>
#include <QHeaderView>
#include <QLabel>
#include <QLegendMarker>
#include <QLineSeries>
#include <QScrollBar>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableView>
#include <QTemporaryDir>
#include <QValueAxis>
#include <QtTest>

using namespace surfing;
using namespace surfing::ui;
using namespace surfing::test;

namespace {
LayerEvent layerEvent(int step, const QString &unit, qint64 startMs, qint64 lengthMs, bool hit)
{
    LayerEvent e;
    e.step = step;
    e.unit = unit;
    e.cacheHit = hit;
    e.computeStartNs = 1'000'000'000 + startMs * 1'000'000;
    e.computeEndNs = e.computeStartNs + lengthMs * 1'000'000;
    if (!hit) {
        e.fetchStartNs = e.computeStartNs - 2'000'000;
        e.fetchEndNs = e.computeStartNs;
        e.bytes = 1000;
    }
    return e;
}

double hueDistance(const QColor &a, const QColor &b)
{
    const int d = qAbs(a.hslHue() - b.hslHue());
    return qMin(d, 360 - d);
}
} // namespace

class TestDashboardState : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void timelineShowsOneRunInDistinctColoursOnAStableScale();
    void chartsBreakAtGapsAndGiveTokensTheirOwnAxis();
    void cpuOfTheAppAndTheMachineIsCharted();
    void memoryEstimateIsShownAndARunThatWillNotFitIsAskedAbout();
    void layoutHoldsAt1280x800WithLongContent();
    void settingsKeepSourceModelSeedAndWindow();
    void byteSizesReadTheSameInTheWindowAndTheCli();
    void noPageWritesDecimalByteUnits();

private:
    QTemporaryDir m_home;
    QTemporaryDir m_work;
    QString m_chunks;
};

void TestDashboardState::initTestCase()
{
    QVERIFY(m_home.isValid());
    isolateUserDirs(m_home);
    const QString model = sharedModel(QStringLiteral("stories260K"));
    if (model.isEmpty())
        QSKIP("shared models not available");
    m_chunks = m_work.filePath(QStringLiteral("stories260K"));
    const CliResult r = runCli({QStringLiteral("chunk"), model, QStringLiteral("-o"), m_chunks});
    QVERIFY2(r.exitCode == 0, r.err.constData());
}

void TestDashboardState::timelineShowsOneRunInDistinctColoursOnAStableScale()
{
    // Compute (a bar) and a cache hit (a mark) were two greens; every kind has its own colour now.
    const QList<QColor> kinds = {TimelineWidget::colorOfFetchMiss(), TimelineWidget::colorOfCompute(),
                                 TimelineWidget::colorOfWait(), TimelineWidget::colorOfCacheHit()};
    for (int i = 0; i < kinds.size(); ++i)
        for (int j = i + 1; j < kinds.size(); ++j)
            QVERIFY2(hueDistance(kinds.at(i), kinds.at(j)) >= 40, qPrintable(kinds.at(i).name() + kinds.at(j).name()));

    TimelineModel model;
    TimelineWidget view(&model);
    view.resize(900, 300);
    view.setVisibleSteps(0);
    view.show();
    model.startRun(QStringLiteral("stories260K"));
    // The session counts steps over its life: this run's first step is 7, shown as step 0.
    model.addEvents({layerEvent(7, QStringLiteral("layer_0"), 0, 3, false), layerEvent(7, QStringLiteral("layer_1"), 3, 3, false)});
    QCOMPARE(model.events().constFirst().step, 0);
    QCOMPARE(model.originNs(), model.events().constFirst().fetchStartNs);
    view.grab();
    const qint64 firstSpan = view.spanNs();
    QVERIFY(firstSpan > 0);
    // Steps that fit keep the scale; one that does not makes it grow, never shrink.
    model.addEvents({layerEvent(8, QStringLiteral("layer_0"), 6, 1, true)});
    view.grab();
    QCOMPARE(view.spanNs(), firstSpan);
    model.addEvents({layerEvent(9, QStringLiteral("layer_0"), 40, 3, true)});
    view.grab();
    const qint64 grown = view.spanNs();
    QVERIFY(grown > firstSpan);
    model.addEvents({layerEvent(10, QStringLiteral("layer_1"), 44, 1, true)});
    view.grab();
    QCOMPARE(view.spanNs(), grown);
    QCOMPARE(model.lastStep(), 3);

    // The next run starts afresh.
    model.startRun(QStringLiteral("stories260K again"));
    QCOMPARE(model.rowCount(), 0);
    QCOMPARE(model.runNumber(), 2);
    model.addEvents({layerEvent(11, QStringLiteral("layer_0"), 100, 3, false)});
    QCOMPARE(model.events().constFirst().step, 0);
    view.grab();
    QVERIFY(view.spanNs() < grown);
    // Within a run the scale shrinks only when the steps shown use under a quarter of it.
    view.setVisibleSteps(1);
    model.addEvents({layerEvent(12, QStringLiteral("layer_0"), 104, 2, true)});
    view.grab();
    const qint64 oneStep = view.spanNs();
    model.addEvents({layerEvent(13, QStringLiteral("layer_0"), 107, 1, true)});
    view.grab();
    QCOMPARE(view.spanNs(), oneStep);
}

void TestDashboardState::chartsBreakAtGapsAndGiveTokensTheirOwnAxis()
{
    MetricsHistoryModel history;
    for (int i = 0; i < 12; ++i) {
        MetricsSample s;
        s.seconds = i * 0.25;
        const bool idle = i >= 4 && i < 8; // no lookups: nothing to draw
        if (!idle)
            s.hitRate = 0.5;
        s.throughputMbps = idle ? 0 : 40;
        s.tokensPerSecond = idle ? 0 : 300;
        history.append(s);
    }
    TimeSeriesChart hitRate(QStringLiteral("hit rate"), QStringLiteral("%"));
    hitRate.addLine(QStringLiteral("hit rate"), MetricsHistoryModel::HitRate, Qt::darkGreen, 100.0);
    hitRate.refresh(history.samples(), 0);
    QCOMPARE(hitRate.segmentCount(0), 2); // no line across the idle gap
    QCOMPARE(hitRate.line(0)->count(), 4);

    TimeSeriesChart throughput(QStringLiteral("Throughput"), QStringLiteral("fetched, MiB/s"));
    throughput.addLine(QStringLiteral("fetched MiB/s"), MetricsHistoryModel::Throughput, Qt::blue);
    throughput.addLine(QStringLiteral("tokens/s"), MetricsHistoryModel::TokensPerSecond, Qt::red, 1.0, QStringLiteral("tokens/s"));
    throughput.refresh(history.samples(), 0);
    QVERIFY(throughput.rightAxis());
    QCOMPARE(throughput.rightAxis()->titleText(), QStringLiteral("tokens/s"));
    QCOMPARE(throughput.leftAxis()->titleText(), QStringLiteral("fetched, MiB/s"));
    QVERIFY(throughput.rightAxis()->max() >= 300); // tok/s are not squeezed onto the MiB/s scale
    QVERIFY(throughput.leftAxis()->max() < 100);
}

void TestDashboardState::cpuOfTheAppAndTheMachineIsCharted()
{
    MainWindow window;
    window.show();
    window.showPage(MainWindow::DashboardTab);
    DashboardPage *dashboard = window.dashboardPage();
    TimeSeriesChart *chart = dashboard->memoryChart();
    QVERIFY(chart->rightAxis());
    QVERIFY(chart->rightAxis()->titleText().contains(QStringLiteral("CPU")));
    // Lines 1 and 2: this process and the machine, sampled from /proc.
    QTRY_VERIFY_WITH_TIMEOUT(chart->line(1)->count() > 0 && chart->line(2)->count() > 0, 20000);
    for (const QPointF &p : chart->line(2)->points())
        QVERIFY(p.y() >= 0 && p.y() <= 100.0001);
}

void TestDashboardState::memoryEstimateIsShownAndARunThatWillNotFitIsAskedAbout()
{
    MainWindow window;
    window.show();
    window.openPath(m_chunks, false); // the chunk folder becomes a Playground source
    PlaygroundPage *page = window.playgroundPage();
    QComboBox *source = comboOffering(page, QStringLiteral("Chunk folder (no server)"));
    QVERIFY(source);
    source->setCurrentIndex(source->findText(QStringLiteral("Chunk folder (no server)")));
    MemoryEstimateLabel *estimate = window.memoryEstimateLabel();
    QVERIFY(estimate->isVisibleTo(page));
    QTRY_VERIFY(estimate->hasEstimate());
    QVERIFY(estimate->estimate().peakBytes() > kRuntimeReserveBytes);
    QVERIFY2(estimate->text().contains(QStringLiteral("peak")), qPrintable(estimate->text()));
    QVERIFY(estimate->estimate().isKnownToFit());

    // Prefetch depth is part of the estimate: typing a deeper one raises it.
    const qint64 shallow = estimate->estimate().peakBytes();
    QSpinBox *prefetch = nullptr;
    for (QSpinBox *spin : page->findChildren<QSpinBox *>())
        if (spin->toolTip().contains(QStringLiteral("fetched ahead")))
            prefetch = spin;
    QVERIFY(prefetch);
    prefetch->setFocus();
    prefetch->selectAll();
    QTest::keyClicks(prefetch, QStringLiteral("4"));
    QTRY_VERIFY(estimate->estimate().peakBytes() > shallow);

    // A machine with 1 MiB to spare: the label warns and Run asks first.
    window.setAvailableMemoryBytes(1024 * 1024);
    QVERIFY(estimate->estimate().isKnownNotToFit());
    QVERIFY2(estimate->text().contains(QStringLiteral("Lower")), qPrintable(estimate->text()));
    page->setPrompt(QStringLiteral("Once upon a time"));
    page->setMaxTokens(2);
    InferenceController *inference = window.inferenceController();
    QSignalSpy running(inference, &InferenceController::runningChanged);
    QString warning;
    answerNextMessageBox(QStringLiteral("Cancel"), [&warning](QMessageBox *box) { warning = box->text(); });
    QVERIFY(click(buttonWithText(page, QStringLiteral("Run"))));
    QVERIFY2(warning.contains(QStringLiteral("available")), qPrintable(warning));
    QCOMPARE(running.count(), 0); // cancelled: nothing started

    QSignalSpy finished(inference, &InferenceController::finished);
    answerNextMessageBox(QStringLiteral("Run anyway"));
    QVERIFY(click(buttonWithText(page, QStringLiteral("Run"))));
    QVERIFY(finished.wait(60000) || finished.count() == 1);
}

void TestDashboardState::layoutHoldsAt1280x800WithLongContent()
{
    MainWindow window;
    window.resize(1280, 800);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    for (int p = 0; p < 4; ++p) {
        window.showPage(MainWindow::Page(p));
        QWidget *page = window.page(MainWindow::Page(p));
        QVERIFY2(page->minimumSizeHint().width() <= page->width(), qPrintable(QStringLiteral("page %1: needs %2 px, has %3").arg(p).arg(page->minimumSizeHint().width()).arg(page->width())));
        QCOMPARE(window.size(), QSize(1280, 800));
    }
    // A long event in the request log (logged while another page is shown, as when the server
    // starts from the Chunk page), then the Server page is opened: every column stays on the
    // page, the long one is elided, the short ones keep their whole text.
    window.showPage(MainWindow::ChunkTab);
    RequestLogModel *log = window.findChild<RequestLogModel *>();
    const QString longEvent = QStringLiteral("listening on ws://127.0.0.1:8765, serving ")
                              + QStringLiteral("a-model-with-a-very-long-name, ").repeated(12);
    log->addNote(longEvent);
    log->addServed(QStringLiteral("stories260K"), QStringLiteral("layer_0"), 123456, 0.0123, true);
    QTableView *view = nullptr;
    for (QTableView *v : window.serverPage()->findChildren<QTableView *>())
        if (v->model() == log)
            view = v;
    QVERIFY(view);
    QTest::keyClick(&window, Qt::Key_2, Qt::ControlModifier); // View › Server
    QCOMPARE(window.currentPage(), MainWindow::ServerTab);
    QTRY_VERIFY(view->isVisible());
    QTest::qWait(300); // the header lays its sections out on a timer
    QVERIFY(!view->horizontalScrollBar()->isVisible());
    int columns = 0;
    for (int c = 0; c < log->columnCount(); ++c)
        columns += view->columnWidth(c);
    QVERIFY2(columns <= view->viewport()->width() + 1, qPrintable(QStringLiteral("%1 > %2").arg(columns).arg(view->viewport()->width())));
    const QFontMetrics fm(view->font());
    QVERIFY2(view->columnWidth(RequestLogModel::Chunk) < fm.horizontalAdvance(longEvent),
             qPrintable(QStringLiteral("the event column is %1 px wide: it should be elided").arg(view->columnWidth(RequestLogModel::Chunk))));
    for (int c : {RequestLogModel::Time, RequestLogModel::Result, RequestLogModel::Bytes, RequestLogModel::Milliseconds}) {
        const QString text = log->index(1, c).data().toString();
        QVERIFY2(view->columnWidth(c) >= fm.horizontalAdvance(text),
                 qPrintable(QStringLiteral("column %1 (%2 px) cuts '%3'").arg(c).arg(view->columnWidth(c)).arg(text)));
    }
}

void TestDashboardState::settingsKeepSourceModelSeedAndWindow()
{
    {
        MainWindow window;
        window.show();
        window.openPath(m_chunks, false);
        PlaygroundPage *page = window.playgroundPage();
        QComboBox *source = comboOffering(page, QStringLiteral("Chunk folder (no server)"));
        source->setCurrentIndex(source->findText(QStringLiteral("Chunk folder (no server)")));
        QComboBox *model = comboOffering(page, QStringLiteral("stories260K"));
        QVERIFY(model);
        model->setCurrentIndex(model->findText(QStringLiteral("stories260K")));
        QSpinBox *seed = nullptr;
        const auto spins = page->findChildren<QSpinBox *>();
        for (QSpinBox *spin : spins)
            if (spin->maximum() == INT_MAX)
                seed = spin;
        QVERIFY(seed);
        seed->setFocus();
        seed->selectAll();
        QTest::keyClicks(seed, QStringLiteral("4242"));
        QCOMPARE(seed->value(), 4242);
        QComboBox *span = window.dashboardPage()->windowBox();
        span->setCurrentIndex(span->findText(QStringLiteral("10 min")));
        window.close();
    }
    MainWindow again;
    PlaygroundPage *page = again.playgroundPage();
    QComboBox *source = comboOffering(page, QStringLiteral("Chunk folder (no server)"));
    QCOMPARE(source->currentText(), QStringLiteral("Chunk folder (no server)"));
    QCOMPARE(comboOffering(page, QStringLiteral("stories260K"))->currentText(), QStringLiteral("stories260K"));
    QSpinBox *seed = nullptr;
    for (QSpinBox *spin : page->findChildren<QSpinBox *>())
        if (spin->maximum() == INT_MAX)
            seed = spin;
    QCOMPARE(seed->value(), 4242);
    QCOMPARE(again.dashboardPage()->windowBox()->currentText(), QStringLiteral("10 min"));
    QVERIFY(page->request(false).chunkDir == m_chunks);
}

void TestDashboardState::byteSizesReadTheSameInTheWindowAndTheCli()
{
    for (qint64 bytes : {qint64(999), qint64(1536), qint64(5) << 20, qint64(3) << 30}) {
        QString window = formatBytes(bytes);
        QCOMPARE(window.replace(QChar(0x00A0), QLatin1Char(' ')), formatByteSize(bytes));
    }
    QVERIFY(formatBytes(1536).endsWith(QStringLiteral("KiB")));
}

// Every text the window shows (labels, buttons, spin box suffixes, tool tips, column headers of
// every model and the CSV export, chart axes and legends) writes sizes in binary units, as
// formatByteSize() and the CLI do: "MiB", "MiB/s", never "MB".
void TestDashboardState::noPageWritesDecimalByteUnits()
{
    MainWindow window;
    window.resize(1280, 800);
    window.show();
    window.openPath(m_chunks, false);
    QStringList texts;
    const auto widgets = window.findChildren<QWidget *>();
    for (QWidget *w : widgets) {
        texts << w->toolTip();
        if (auto *label = qobject_cast<QLabel *>(w))
            texts << label->text();
        if (auto *button = qobject_cast<QAbstractButton *>(w))
            texts << button->text();
        if (auto *box = qobject_cast<QGroupBox *>(w))
            texts << box->title();
        if (auto *edit = qobject_cast<QLineEdit *>(w))
            texts << edit->placeholderText();
        if (auto *spin = qobject_cast<QSpinBox *>(w))
            texts << spin->suffix() << spin->prefix() << spin->specialValueText();
        if (auto *spin = qobject_cast<QDoubleSpinBox *>(w))
            texts << spin->suffix() << spin->prefix() << spin->specialValueText();
        if (auto *chart = qobject_cast<QChartView *>(w)) {
            for (QAbstractAxis *axis : chart->chart()->axes())
                texts << axis->titleText();
            for (QAbstractSeries *series : chart->chart()->series())
                texts << series->name();
        }
    }
    for (QAbstractItemModel *model : window.findChildren<QAbstractItemModel *>())
        for (int c = 0; c < model->columnCount(); ++c)
            texts << model->headerData(c, Qt::Horizontal).toString();
    QVERIFY(texts.size() > 100);
    const QRegularExpression decimal(QStringLiteral("\\b[kKMGT]B\\b"));
    QStringList wrong;
    for (const QString &text : std::as_const(texts))
        if (decimal.match(text).hasMatch())
            wrong << text;
    QVERIFY2(wrong.isEmpty(), qPrintable(wrong.join(QStringLiteral(" | "))));
}

QTEST_MAIN(TestDashboardState)
#include "tst_dashboardstate.moc"
