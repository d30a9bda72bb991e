// The Surfing main window: Chunk, Server, Playground and Dashboard pages, an in-window error
// banner, a status bar with the server state, drag-and-drop of models anywhere on the window,
// recent models and QSettings-kept state.
#pragma once

#include <QMainWindow>

class QLabel;
class QMenu;
class QTabWidget;

namespace surfing::ui {

class ChunkPage;
class DashboardPage;
class ErrorBanner;
class InferenceController;
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

public Q_SLOTS:
    void showError(const QString &message, const QString &action);
    void showInfo(const QString &message);

protected:
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dragMoveEvent(QDragMoveEvent *event) override;
    void dropEvent(QDropEvent *event) override;
    void closeEvent(QCloseEvent *event) override;

private:
    void buildMenus();
    void rebuildRecentMenu();
    void addRecentModel(const QString &dir);
    void loadSettings();
    void saveSettings() const;
    void connectPage(QWidget *page);
    void updateServerState();
    void connectInference();

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
    int m_clientCount = 0;
    QMenu *m_recentMenu = nullptr;
    QLabel *m_serverState;
};

} // namespace surfing::ui
