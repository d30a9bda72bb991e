#include "dashboardpage.h"

#include "base/error.h"
#include "formatting.h"
#include "latencyhistogramchart.h"
#include "metricshistorymodel.h"
#include "metricssampler.h"
#include "timelinemodel.h"
#include "timelinewidget.h"
#include "timeserieschart.h"

#include <QAction>
#include <QComboBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineSeries>
#include <QSaveFile>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QToolBar>
#include <QVBoxLayout>

namespace surfing::ui {

namespace {
void writeFile(const QString &path, const QByteArray &bytes)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size() || !file.commit())
        throw Error(QStringLiteral("Cannot write %1: %2").arg(path, file.errorString()));
}
}

DashboardPage::DashboardPage(MetricsHistoryModel *history, MetricsSampler *sampler, TimelineModel *timeline, QWidget *parent)
    : QWidget(parent)
    , m_history(history)
    , m_sampler(sampler)
    , m_timeline(timeline)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(buildToolbar());

    auto *splitter = new QSplitter(Qt::Vertical, this);
    splitter->addWidget(buildCharts());
    auto *timelineTabs = new QTabWidget(splitter);
    m_timelineView = new TimelineWidget(m_timeline, timelineTabs);
    m_eventTable = new QTableView(timelineTabs);
    m_eventTable->setModel(m_timeline);
    m_eventTable->verticalHeader()->hide();
    m_eventTable->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    timelineTabs->addTab(m_timelineView, tr("Per-layer timeline"));
    timelineTabs->addTab(m_eventTable, tr("Events"));
    splitter->addWidget(timelineTabs);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    layout->addWidget(splitter, 1);

    connect(m_timeline, &TimelineModel::rowsInserted, m_eventTable, [this] {
        if (!m_paused)
            m_eventTable->scrollToBottom();
    });
    m_redraw.setInterval(250);
    // Hidden, the charts are not redrawn by the timer: an idle app costs next to nothing.
    connect(&m_redraw, &QTimer::timeout, this, [this] {
        if (isVisible())
            refresh();
    });
    m_redraw.start();
    refresh();
}

QWidget *DashboardPage::buildToolbar()
{
    auto *bar = new QToolBar(this);
    m_pause = bar->addAction(tr("Pause"));
    m_pause->setCheckable(true);
    m_pause->setShortcut(QKeySequence(QStringLiteral("Ctrl+P")));
    m_pause->setToolTip(tr("Freeze the charts; data keeps being recorded (Ctrl+P)"));
    connect(m_pause, &QAction::toggled, this, &DashboardPage::setPaused);
    QAction *clearAction = bar->addAction(tr("Clear"), this, &DashboardPage::clear);
    clearAction->setToolTip(tr("Forget all recorded samples and events"));
    bar->addSeparator();
    bar->addAction(tr("Export CSV…"), this, &DashboardPage::chooseCsv);
    bar->addAction(tr("Export PNG…"), this, &DashboardPage::choosePng);
    bar->addSeparator();
    bar->addWidget(new QLabel(tr(" Window "), bar));
    m_span = new QComboBox(bar);
    m_span->addItem(tr("30 s"), 30.0);
    m_span->addItem(tr("2 min"), 120.0);
    m_span->addItem(tr("10 min"), 600.0);
    m_span->addItem(tr("all"), 0.0);
    m_span->setCurrentIndex(1);
    bar->addWidget(m_span);
    bar->addWidget(new QLabel(tr("  Timeline steps "), bar));
    m_steps = new QSpinBox(bar);
    m_steps->setRange(0, 1000);
    m_steps->setValue(3);
    m_steps->setSpecialValueText(tr("all"));
    m_steps->setToolTip(tr("How many of the latest forward passes the timeline shows"));
    bar->addWidget(m_steps);
    m_summary = new QLabel(bar);
    m_bound = new QLabel(bar);
    m_bound->setObjectName(QStringLiteral("boundSummary"));
    m_bound->setToolTip(tr("Chunk bytes fetched per generated token, and the rate they arrived at, over the window "
                           "shown. With a cache smaller than the model, tokens/s can be at most the link's rate "
                           "divided by the bytes per token."));
    auto *spacer = new QWidget(bar);
    spacer->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    bar->addWidget(spacer);
    bar->addWidget(m_bound);
    bar->addWidget(m_summary);
    connect(m_steps, &QSpinBox::valueChanged, this, [this](int v) { m_timelineView->setVisibleSteps(v); });
    connect(m_span, &QComboBox::currentIndexChanged, this, &DashboardPage::refresh);
    return bar;
}

QWidget *DashboardPage::buildCharts()
{
    auto *grid = new QWidget(this);
    auto *layout = new QGridLayout(grid);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(4);
    m_hitRate = new TimeSeriesChart(tr("Client cache hit rate"), tr("%"), grid);
    m_hitRate->addLine(tr("hit rate"), MetricsHistoryModel::HitRate, QColor(0x2e7d32), 100.0);
    m_hitRate->setFixedRange(0, 100);
    m_latency = new TimeSeriesChart(tr("Fetch latency"), tr("ms"), grid);
    m_latency->addLine(tr("mean fetch"), MetricsHistoryModel::FetchLatency, QColor(0x3d9be0));
    m_histogram = new LatencyHistogramChart(grid);
    // Caches get their own chart: beside a process RSS of hundreds of MB, a few MB of cached
    // layers would be a flat line at zero.
    m_memory = new TimeSeriesChart(tr("Process memory and CPU"), tr("MiB"), grid);
    m_memory->addLine(tr("RSS"), MetricsHistoryModel::Rss, QColor(0x6a1b9a));
    m_memory->addLine(tr("CPU, this app"), MetricsHistoryModel::ProcessCpu, QColor(0x00897b), 1.0, tr("CPU, %"));
    m_memory->addLine(tr("CPU, machine"), MetricsHistoryModel::MachineCpu, QColor(0x90a4ae), 1.0, tr("CPU, %"));
    m_caches = new TimeSeriesChart(tr("Cache memory"), tr("MiB"), grid);
    m_caches->addLine(tr("client cache"), MetricsHistoryModel::ClientCache, QColor(0x43a047));
    m_caches->addLine(tr("server cache"), MetricsHistoryModel::ServerCache, QColor(0xef6c00));
    m_throughput = new TimeSeriesChart(tr("Throughput"), tr("MiB/s"), grid);
    m_throughput->addLine(tr("fetched MiB/s"), MetricsHistoryModel::Throughput, QColor(0x0f4c81));
    m_throughput->addLine(tr("tokens/s"), MetricsHistoryModel::TokensPerSecond, QColor(0xe53935), 1.0, tr("tokens/s"));
    layout->addWidget(m_hitRate, 0, 0);
    layout->addWidget(m_latency, 0, 1);
    layout->addWidget(m_histogram, 0, 2);
    layout->addWidget(m_memory, 1, 0);
    layout->addWidget(m_caches, 1, 1);
    layout->addWidget(m_throughput, 1, 2);
    return grid;
}

double DashboardPage::spanSeconds() const
{
    return m_span->currentData().toDouble();
}

void DashboardPage::refresh()
{
    if (m_paused)
        return;
    // While nothing happens the charts only scroll: once a second is enough (< 2% of a core).
    m_redraw.setInterval(m_sampler->isIdle() ? 1000 : 250);
    const QVector<MetricsSample> &samples = m_history->samples();
    const double span = spanSeconds();
    for (TimeSeriesChart *chart : {m_hitRate, m_latency, m_memory, m_caches, m_throughput})
        chart->refresh(samples, span);
    m_histogram->refresh(m_sampler->fetchLatenciesMs());
    m_summary->setText(tr("%1 samples · %2 layer events ").arg(samples.size()).arg(m_timeline->rowCount()));
    m_bound->setText(boundText(samples, span));
}

QString DashboardPage::boundText() const
{
    return m_bound->text();
}

QString DashboardPage::boundText(const QVector<MetricsSample> &samples, double spanSeconds)
{
    if (samples.isEmpty())
        return {};
    const double newest = samples.constLast().seconds;
    const double from = spanSeconds > 0 ? newest - spanSeconds : -1.0;
    // Each sample holds the rates of the interval since the one before it.
    double mb = 0, tokens = 0, seconds = 0, previous = 0;
    for (const MetricsSample &s : samples) {
        const double dt = qMax(0.0, s.seconds - previous);
        previous = s.seconds;
        if (s.seconds < from)
            continue;
        mb += s.throughputMbps * dt;
        tokens += s.tokensPerSecond * dt;
        seconds += dt;
    }
    if (mb <= 0 || seconds <= 0)
        return tr("fetched nothing ");
    // The samples hold MiB; written as everywhere else (formatBytes: KiB, MiB, GiB).
    constexpr double kMiB = 1024.0 * 1024.0;
    const QString rate = tr("at %1 ").arg(formatRate(mb * kMiB / seconds));
    if (tokens < 0.5)
        return tr("fetched %1 ").arg(formatBytes(qint64(mb * kMiB))) + rate;
    return tr("fetched %1 per token ").arg(formatBytes(qint64(mb * kMiB / tokens))) + rate + QStringLiteral("· ");
}

void DashboardPage::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    refresh();
}

void DashboardPage::loadSettings()
{
    QSettings s;
    const int span = m_span->findData(s.value(QStringLiteral("dashboard/windowSeconds"), 120.0).toDouble());
    if (span >= 0)
        m_span->setCurrentIndex(span);
    m_steps->setValue(s.value(QStringLiteral("dashboard/timelineSteps"), 3).toInt());
}

void DashboardPage::saveSettings() const
{
    QSettings s;
    s.setValue(QStringLiteral("dashboard/windowSeconds"), spanSeconds());
    s.setValue(QStringLiteral("dashboard/timelineSteps"), m_steps->value());
}

void DashboardPage::setPaused(bool paused)
{
    m_paused = paused;
    if (m_pause->isChecked() != paused)
        m_pause->setChecked(paused);
    m_pause->setText(paused ? tr("Resume") : tr("Pause"));
    m_timelineView->setFrozen(paused);
    if (!paused)
        refresh();
}

void DashboardPage::clear()
{
    m_sampler->clear();
    m_timeline->clear();
    const bool paused = m_paused;
    m_paused = false;
    refresh();
    m_paused = paused;
}

void DashboardPage::exportCsv(const QString &file) const
{
    writeFile(file, m_history->toCsv());
    const QFileInfo info(file);
    writeFile(info.dir().filePath(info.completeBaseName() + QStringLiteral("-timeline.csv")), m_timeline->toCsv());
}

void DashboardPage::exportPng(const QString &file)
{
    if (!grab().save(file, "PNG"))
        throw Error(QStringLiteral("Cannot write %1: check the folder exists and is writable.").arg(file));
}

void DashboardPage::chooseCsv()
{
    const QString file = QFileDialog::getSaveFileName(this, tr("Export dashboard data"), QStringLiteral("surfing-dashboard.csv"), tr("CSV (*.csv)"));
    if (file.isEmpty())
        return;
    try {
        exportCsv(file);
        Q_EMIT statusMessage(tr("Exported %1 and its -timeline.csv").arg(file));
    } catch (const Error &e) {
        Q_EMIT errorOccurred(e.message(), tr("Choose another folder."));
    }
}

void DashboardPage::choosePng()
{
    const QString file = QFileDialog::getSaveFileName(this, tr("Export dashboard image"), QStringLiteral("surfing-dashboard.png"), tr("PNG (*.png)"));
    if (file.isEmpty())
        return;
    try {
        exportPng(file);
        Q_EMIT statusMessage(tr("Exported %1").arg(file));
    } catch (const Error &e) {
        Q_EMIT errorOccurred(e.message(), tr("Choose another folder."));
    }
}

} // namespace surfing::ui
