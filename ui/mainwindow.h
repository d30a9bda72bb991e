// The Surfing main window: Chunk, Server, Playground and Dashboard pages, an in-window error
// banner (floating over the page, so nothing moves under the mouse), a status bar with the
// server state, drag-and-drop of models anywhere on the window, recent models and QSettings-kept
// state. Runs go through here (mainwindowrun.cpp): memory estimate and warning, the timeline's
// run, errors with advice in the window's terms.
#pragma once

#include "format/chunkmanifest.h"
#include "playgroundrequest.h"

#include <QHash>
#include <QMainWindow>

class QLabel;
class QMenu;
class QTabWidget;

namespace surfing::ui {

class ChunkPage;
class DashboardPage;
class ErrorBanner;
class InferenceController;
class MemoryEstimateLabel;
class MetricsHistoryModel;
class MetricsSampler;
class PlaygroundPage;
class RequestLogModel;
class ServerController;
class ServerPage;
class TimelineModel;

class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    enum Page { ChunkTab, ServerTab, PlaygroundTab, DashboardTab };

    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    // A dropped or opened path: a model goes to the Chunk page (and is chunked when `chunkNow`),
    // a chunk directory is shown and offered to the server. Anything else shows an error.
    // Returns false when the path was refused.
    bool openPath(const QString &path, bool chunkNow);
    // Opens `path` and serves it: a chunk folder at once, a model once it is chunked. For
    // `surfing --serve` and scripts/demo.sh --gui; the Playground is shown when it runs.
    bool openAndServe(const QString &path);
    // Adds a chunk folder to the server and serves it: starts the server, or restarts it (after
    // the run under way) when it runs without that folder.
    void serveChunkDir(const QString &dir);

    void showPage(Page page);
    Page currentPage() const;
    QWidget *page(Page page) const;
    ChunkPage *chunkPage() const { return m_chunkPage; }
    ServerPage *serverPage() const { return m_serverPage; }
    PlaygroundPage *playgroundPage() const { return m_playgroundPage; }
    DashboardPage *dashboardPage() const { return m_dashboardPage; }
    ServerController *serverController() const { return m_server; }
    InferenceController *inferenceController() const { return m_inference; }
    TimelineModel *timelineModel() const { return m_timeline; }
    MetricsHistoryModel *metricsHistory() const { return m_history; }
    MetricsSampler *metricsSampler() const { return m_sampler; }
    QString serverStateText() const;
    ErrorBanner *errorBanner() const { return m_banner; }
    QStringList recentModels() const;
    MemoryEstimateLabel *memoryEstimateLabel() const { return m_memoryEstimate; }
    // What the machine has available for a run (-1: ask it, the default); for what-if and tests.
    void setAvailableMemoryBytes(qint64 bytes);
    // Starts a run of the Playground's request, after a warning when it will not fit in memory.
    void startRun(const PlaygroundRequest &request);

public Q_SLOTS:
    void showError(const QString &message, const QString &action);
    void showInfo(const QString &message);
    void updateMemoryEstimate();

protected:
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dragMoveEvent(QDragMoveEvent *event) override;
    void dropEvent(QDropEvent *event) override;
    void closeEvent(QCloseEvent *event) override;
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    void buildMenus();
    void rebuildRecentMenu();
    void addRecentModel(const QString &dir);
    void loadSettings();
    void saveSettings() const;
    void connectPage(QWidget *page);
    void updateServerState();
    void connectInference();
    void connectServer();
    void placeBanner();
    void restartServer();
    void onChunked(const QString &dir);
    void onRunFailed(const QString &message);
    QString describeSource(const PlaygroundRequest &request) const;
    const ChunkManifest *manifestFor(const PlaygroundRequest &request);

    // Models first: the pages below view them.
    ServerController *m_server;
    InferenceController *m_inference;
    RequestLogModel *m_requestLog;
    MetricsHistoryModel *m_history;
    MetricsSampler *m_sampler;
    TimelineModel *m_timeline;
    QTabWidget *m_tabs;
    ErrorBanner *m_banner;
    ChunkPage *m_chunkPage;
    ServerPage *m_serverPage;
    PlaygroundPage *m_playgroundPage;
    DashboardPage *m_dashboardPage;
    MemoryEstimateLabel *m_memoryEstimate;
    int m_clientCount = 0;
    qint64 m_availableOverride = -1;
    bool m_restartPending = false;
    bool m_bannerFromRun = false;
    const QObject *m_bannerFrom = nullptr; // the page whose signal showed the banner

    QString m_serveWhenChunked;
    PlaygroundRequest m_lastRequest;
    QHash<QString, ChunkManifest> m_manifests; // by chunk folder, or server URL + model
    QMenu *m_recentMenu = nullptr;
    QLabel *m_serverState;
};

} // namespace surfing::ui
