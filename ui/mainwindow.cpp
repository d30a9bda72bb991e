#include "mainwindow.h"

#include "base/error.h"
#include "inference/blasinfo.h"
#include "chunkpage.h"
#include "dashboardpage.h"
#include "droppedpath.h"
#include "errorbanner.h"
#include "formatting.h"
#include "inferencecontroller.h"
#include "memoryestimatelabel.h"
#include "metricshistorymodel.h"
#include "metricssampler.h"
#include "chatpanel.h"
#include "helpdialogs.h"
#include "playgroundpage.h"
#include "requestlogmodel.h"
#include "servercontroller.h"
#include "serverpage.h"
#include "timelinemodel.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileInfo>
#include <QLabel>
#include <QLoggingCategory>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QSettings>
#include <QStatusBar>
#include <QTabBar>
#include <QTabWidget>
#include <QVBoxLayout>

Q_LOGGING_CATEGORY(lcUi, "surfing.ui")

static void initSurfingResources()
{
    Q_INIT_RESOURCE(surfing);
}

namespace surfing::ui {

namespace {
constexpr int kMaxRecent = 8;
const QString kRecentKey = QStringLiteral("recentModels");
}

MainWindow::MainWindow(QWidget *parent)
    : QMainWindow(parent)
    , m_server(new ServerController(this))
    , m_inference(new InferenceController(this))
    , m_requestLog(new RequestLogModel(this))
    , m_history(new MetricsHistoryModel(this))
    , m_sampler(new MetricsSampler(m_history, this))
    , m_timeline(new TimelineModel(this))
    , m_tabs(new QTabWidget(this))
    , m_banner(new ErrorBanner(this))
    , m_chunkPage(new ChunkPage(this))
    , m_serverPage(new ServerPage(m_server, m_requestLog, this))
    , m_playgroundPage(new PlaygroundPage(this))
    , m_dashboardPage(new DashboardPage(m_history, m_sampler, m_timeline, this))
    , m_memoryEstimate(new MemoryEstimateLabel(this))
    , m_serverState(new QLabel(this))
{
    initSurfingResources();
    setWindowTitle(tr("Surfing"));
    setWindowIcon(QIcon(QStringLiteral(":/surfing/icons/surfing.png")));
    setAcceptDrops(true);

    auto *central = new QWidget(this);
    auto *layout = new QVBoxLayout(central);
    layout->setContentsMargins(8, 8, 8, 4);
    layout->addWidget(m_tabs, 1);
    setCentralWidget(central);
    // The banner floats over the top of the page: showing or hiding it moves nothing.
    m_banner->setParent(central);
    central->installEventFilter(this);
    m_playgroundPage->addSetupRow(tr("Memory"), m_memoryEstimate);

    m_tabs->setDocumentMode(true);
    m_tabs->addTab(m_chunkPage, tr("&Chunk"));
    m_tabs->addTab(m_serverPage, tr("&Server"));
    m_tabs->addTab(m_playgroundPage, tr("&Playground"));
    m_tabs->addTab(m_dashboardPage, tr("&Dashboard"));
    for (int i = 0; i < m_tabs->count(); ++i)
        connectPage(m_tabs->widget(i));
    connect(m_chunkPage, &ChunkPage::modelChosen, this, &MainWindow::addRecentModel);
    connect(m_chunkPage, &ChunkPage::chunkingFinished, this, &MainWindow::onChunked);
    connect(m_chunkPage, &ChunkPage::serveRequested, this, [this](const QString &dir) {
        serveChunkDir(dir);
        showPage(ServerTab);
    });
    connect(m_serverPage, &ServerPage::remoteServerChosen, this, [this](const QUrl &url, const QString &token, const QList<QUrl> &replicas) {
        if (m_bannerFrom == m_serverPage && m_banner->isShowingError())
            m_banner->dismiss(); // e.g. a URL that was not one: corrected now
        m_playgroundPage->setRemoteServer(url, token, replicas);
        showPage(PlaygroundTab);
    });
    connectServer();
    connectInference();
    statusBar()->addPermanentWidget(m_serverState);
    updateServerState();
    m_sampler->start();
    buildMenus();
    loadSettings();
}

MainWindow::~MainWindow() = default;

void MainWindow::connectServer()
{
    connect(m_server, &ServerController::started, this, [this](const QUrl &url, const QStringList &models) {
        m_playgroundPage->setLocalServer(url, models, m_server->chunkDirs());
        m_chunkPage->setProtectedDirs(m_server->chunkDirs());
        if (m_restartPending && !m_inference->isRunning()) // a folder came while it started
            m_server->stop();
    });
    connect(m_server, &ServerController::stopped, this, [this] {
        m_chunkPage->setProtectedDirs({});
        m_inference->reset(); // its connection went with the server
        m_playgroundPage->setLocalServer({}, {}, {});
        m_clientCount = 0;
        m_sampler->setServerCacheBytes(0);
        updateServerState();
        if (std::exchange(m_restartPending, false))
            m_serverPage->start();
    });
    connect(m_server, &ServerController::failed, this, [this] { m_restartPending = false; });
    connect(m_server, &ServerController::stateChanged, this, &MainWindow::updateServerState);
    connect(m_server, &ServerController::clientConnected, this, [this] { ++m_clientCount; updateServerState(); });
    connect(m_server, &ServerController::clientDisconnected, this, [this] { --m_clientCount; updateServerState(); });
    connect(m_server, &ServerController::statsUpdated, this, [this](const ServerStats &stats) {
        m_sampler->setServerCacheBytes(stats.cache.bytesCached);
    });
}

void MainWindow::onChunked(const QString &dir)
{
    m_manifests.remove(dir); // chunked afresh
    m_playgroundPage->addChunkFolder(dir);
    const bool serveNow = !m_serveWhenChunked.isEmpty();
    m_serveWhenChunked.clear();
    if (serveNow || m_server->state() != ServerController::State::Stopped) {
        serveChunkDir(dir); // a running server takes it in (restarting), as --serve asked
        return;
    }
    m_serverPage->addChunkDir(dir);
}

void MainWindow::serveChunkDir(const QString &dir)
{
    m_serverPage->addChunkDir(dir);
    switch (m_server->state()) {
    case ServerController::State::Stopped:
        m_serverPage->start();
        break;
    case ServerController::State::Running:
        if (!m_server->serves(dir)) {
            showInfo(tr("Restarting the server to serve %1 as well").arg(QDir(dir).dirName()));
            restartServer();
        }
        break;
    default: // starting or stopping: take it in once that is done
        m_restartPending = true;
        break;
    }
}

void MainWindow::restartServer()
{
    if (m_inference->isRunning()) { // never cut a run off: restart when it ends
        m_restartPending = true;
        showInfo(tr("The server restarts to serve the new chunks when this run ends"));
        return;
    }
    m_restartPending = true;
    m_server->stop();
}

bool MainWindow::openAndServe(const QString &path)
{
    DroppedPath dropped;
    try {
        dropped = classifyPath(path);
    } catch (const Error &) {
        return openPath(path, false); // shows why
    }
    if (dropped.kind == DroppedPath::Kind::ChunkDir) {
        if (!openPath(path, false))
            return false;
        serveChunkDir(dropped.dir);
    } else {
        m_serveWhenChunked = dropped.dir;
        if (!openPath(path, true)) {
            m_serveWhenChunked.clear();
            return false;
        }
    }
    auto toPlayground = std::make_shared<QMetaObject::Connection>();
    *toPlayground = connect(m_server, &ServerController::started, this, [this, toPlayground] {
        disconnect(*toPlayground);
        showPage(PlaygroundTab);
    });
    return true;
}

bool MainWindow::eventFilter(QObject *watched, QEvent *event)
{
    if (watched == centralWidget() && event->type() == QEvent::Resize)
        placeBanner();
    return QMainWindow::eventFilter(watched, event);
}

void MainWindow::placeBanner()
{
    if (!centralWidget())
        return;
    const int margin = 8;
    const int width = centralWidget()->width() - 2 * margin;
    const int top = m_tabs->geometry().top() + m_tabs->tabBar()->sizeHint().height() + 2;
    const int height = m_banner->hasHeightForWidth() ? m_banner->heightForWidth(width) : m_banner->sizeHint().height();
    m_banner->setGeometry(margin, top, width, height);
    m_banner->raise();
}

void MainWindow::connectPage(QWidget *page)
{
    // Every page speaks the same two signals; connect by name so pages stay independent.
    connect(page, SIGNAL(errorOccurred(QString, QString)), this, SLOT(showError(QString, QString)));
    connect(page, SIGNAL(statusMessage(QString)), this, SLOT(showInfo(QString)));
}

void MainWindow::buildMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    QAction *openFolder = file->addAction(tr("&Open model folder…"), m_chunkPage, &ChunkPage::openModelFolder);
    openFolder->setShortcut(QKeySequence::Open);
    QAction *openFile = file->addAction(tr("Open model &file…"), m_chunkPage, &ChunkPage::openModelFile);
    openFile->setShortcut(QKeySequence(QStringLiteral("Ctrl+Shift+O")));
    m_recentMenu = file->addMenu(tr("&Recent models"));
    file->addSeparator();
    QAction *chunk = file->addAction(tr("&Chunk model"), m_chunkPage, &ChunkPage::startChunking);
    chunk->setShortcut(QKeySequence(QStringLiteral("Ctrl+Return")));
    // Ctrl+Return also sends the Playground's prompt: chunk only from the Chunk page, so the two
    // never compete (an ambiguous shortcut fires neither).
    chunk->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    m_chunkPage->addAction(chunk);
    file->addSeparator();
    QAction *serve = file->addAction(tr("Start/stop &server"), m_serverPage, &ServerPage::toggle);
    serve->setShortcut(QKeySequence(QStringLiteral("Ctrl+R")));
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu *view = menuBar()->addMenu(tr("&View"));
    for (int i = 0; i < 4; ++i) {
        QAction *a = view->addAction(QString(), this, [this, i] { showPage(Page(i)); });
        a->setShortcut(QKeySequence(QStringLiteral("Ctrl+%1").arg(i + 1)));
        a->setObjectName(QStringLiteral("pageAction%1").arg(i));
    }
    connect(view, &QMenu::aboutToShow, this, [this, view] {
        const auto actions = view->actions();
        for (int i = 0; i < actions.size() && i < m_tabs->count(); ++i)
            actions[i]->setText(m_tabs->tabText(i));
    });
    QAction *dismiss = new QAction(tr("Dismiss message"), this);
    dismiss->setShortcut(QKeySequence(Qt::Key_Escape));
    connect(dismiss, &QAction::triggered, this, [this] { // Esc: cancel chunking where it runs, else dismiss
        if (currentPage() == ChunkTab && m_chunkPage->isBusy())
            m_chunkPage->cancel();
        else
            m_banner->dismiss();
    });
    addAction(dismiss);

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    addHelpActions(help, this);
    help->addAction(tr("&About Surfing"), this, [this] {
        const BlasInfo blas = loadedBlas();
        QString math = blas.found() ? tr("Matrix library (BLAS): %1<br><small>%2</small>").arg(blas.name.toHtmlEscaped(), blas.library.toHtmlEscaped())
                                    : tr("Matrix library (BLAS): not loaded");
        if (blas.isReference)
            math += tr("<br><b>This is the slow reference BLAS.</b> Install OpenBLAS "
                       "(<tt>sudo apt-get install libopenblas0-pthread</tt>) for several times faster inference.");
        QMessageBox::about(this, tr("About Surfing"),
                           tr("<b>Surfing %1</b><p>Streams transformer weights layer by layer: chunk a model, "
                              "serve it, run it, and watch every fetch.</p><p>%2</p>").arg(QStringLiteral(SURFING_VERSION), math));
    });
    rebuildRecentMenu();
}

bool MainWindow::openPath(const QString &path, bool chunkNow)
{
    DroppedPath dropped;
    try {
        dropped = classifyPath(path);
    } catch (const Error &e) {
        showError(e.message(), tr("Nothing was changed. Drop a model folder (config.json + weights) or a chunk folder."));
        return false;
    }
    // A drop while a reply streams in leaves the Playground where it is.
    const bool stay = m_inference->isRunning() && currentPage() == PlaygroundTab;
    if (dropped.kind == DroppedPath::Kind::ChunkDir) {
        m_chunkPage->showChunkDir(dropped.dir);
        m_serverPage->addChunkDir(dropped.dir);
        m_playgroundPage->addChunkFolder(dropped.dir);
        if (!stay)
            showPage(ChunkTab);
        showInfo(tr("Opened chunk folder %1").arg(QDir::toNativeSeparators(dropped.dir)));
        return true;
    }
    if (m_chunkPage->isBusy()) {
        showError(tr("Still chunking %1.").arg(QDir(m_chunkPage->modelPath()).dirName()),
                  tr("Wait for it to finish or press Cancel, then drop the model again."));
        return false;
    }
    try {
        m_chunkPage->setModelPath(dropped.dir);
    } catch (const Error &e) {
        showError(e.message(), tr("Check the model's config.json."));
        return false;
    }
    m_banner->dismiss();
    if (!stay)
        showPage(ChunkTab);
    else
        showInfo(tr("%1 is on the Chunk page; the run goes on").arg(QDir(dropped.dir).dirName()));
    if (chunkNow)
        m_chunkPage->startChunking();
    return true;
}

void MainWindow::showPage(Page page)
{
    if (int(page) < m_tabs->count())
        m_tabs->setCurrentIndex(int(page));
}

MainWindow::Page MainWindow::currentPage() const
{
    return Page(m_tabs->currentIndex());
}

QWidget *MainWindow::page(Page page) const
{
    return m_tabs->widget(int(page));
}

QString MainWindow::serverStateText() const
{
    return m_serverState->text();
}

void MainWindow::updateServerState()
{
    QString text;
    switch (m_server->state()) {
    case ServerController::State::Stopped: text = tr("Server: stopped"); break;
    case ServerController::State::Starting: text = tr("Server: starting…"); break;
    case ServerController::State::Stopping: text = tr("Server: stopping…"); break;
    case ServerController::State::Running:
        text = tr("Server: %1 · %n client(s)", nullptr, m_clientCount).arg(m_server->url().toString());
        break;
    }
    m_serverState->setText(text);
}

void MainWindow::showError(const QString &message, const QString &action)
{
    qCWarning(lcUi).noquote() << message << action;
    m_bannerFromRun = false;
    m_bannerFrom = sender();
    m_banner->showMessage(message, action, ErrorBanner::Level::Error);
    placeBanner();
    statusBar()->showMessage(message, 8000);
}

void MainWindow::showInfo(const QString &message)
{
    statusBar()->showMessage(message, 8000);
}

void MainWindow::dragEnterEvent(QDragEnterEvent *event)
{
    if (!localPathFromMime(event->mimeData()).isEmpty())
        event->acceptProposedAction();
}

void MainWindow::dragMoveEvent(QDragMoveEvent *event)
{
    if (!localPathFromMime(event->mimeData()).isEmpty())
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent *event)
{
    const QString path = localPathFromMime(event->mimeData());
    if (path.isEmpty()) {
        showError(tr("That drop carried no local file or folder."), tr("Drop a model folder from your file manager."));
        return;
    }
    event->acceptProposedAction();
    openPath(path, true);
}

QStringList MainWindow::recentModels() const
{
    return QSettings().value(kRecentKey).toStringList();
}

void MainWindow::addRecentModel(const QString &dir)
{
    QStringList recent = recentModels();
    recent.removeAll(dir);
    recent.prepend(dir);
    while (recent.size() > kMaxRecent)
        recent.removeLast();
    QSettings().setValue(kRecentKey, recent);
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu()
{
    if (!m_recentMenu)
        return;
    m_recentMenu->clear();
    const QStringList recent = recentModels();
    for (const QString &dir : recent)
        m_recentMenu->addAction(QDir::toNativeSeparators(dir), this, [this, dir] { openPath(dir, false); });
    m_recentMenu->setEnabled(!recent.isEmpty());
}

void MainWindow::loadSettings()
{
    QSettings s;
    if (!restoreGeometry(s.value(QStringLiteral("window/geometry")).toByteArray()))
        resize(1280, 820);
    restoreState(s.value(QStringLiteral("window/state")).toByteArray());
    m_chunkPage->loadSettings();
    m_serverPage->loadSettings();
    for (const QString &dir : m_serverPage->chunkDirs())
        m_playgroundPage->addChunkFolder(dir);
    m_playgroundPage->loadSettings(); // after the folders, so the chosen one is there to select
    m_dashboardPage->loadSettings();
    showPage(Page(s.value(QStringLiteral("window/page"), 0).toInt()));
}

void MainWindow::saveSettings() const
{
    QSettings s;
    s.setValue(QStringLiteral("window/geometry"), saveGeometry());
    s.setValue(QStringLiteral("window/state"), saveState());
    s.setValue(QStringLiteral("window/page"), int(currentPage()));
    m_chunkPage->saveSettings();
    m_serverPage->saveSettings();
    m_playgroundPage->saveSettings();
    m_dashboardPage->saveSettings();
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    saveSettings();
    event->accept();
}

} // namespace surfing::ui
