#include "screenshottour.h"

#include "chunkpage.h"
#include "format/modelconfig.h"
#include "dashboardpage.h"
#include "inferencecontroller.h"
#include "mainwindow.h"
#include "playgroundpage.h"
#include "servercontroller.h"
#include "serverpage.h"

#include <QApplication>
#include <QCheckBox>
#include <QDir>
#include <QEventLoop>
#include <QTextStream>
#include <QTimer>

using namespace surfing::ui;

namespace {
// Lets layouts settle and charts repaint before a grab (the dashboard redraws at 4 Hz).
void settle(int ms)
{
    QEventLoop loop;
    QTimer::singleShot(ms, &loop, &QEventLoop::quit);
    loop.exec();
}
}

ScreenshotTour::ScreenshotTour(MainWindow *window, const QString &modelDir, const QString &outDir, QObject *parent)
    : QObject(parent), m_window(window), m_modelDir(modelDir), m_outDir(outDir)
{
}

void ScreenshotTour::start()
{
    QDir().mkpath(m_outDir);
    connect(m_window->chunkPage(), &ChunkPage::chunkingFinished, this, &ScreenshotTour::chunked, Qt::SingleShotConnection);
    connect(m_window->serverController(), &ServerController::failed, this, &ScreenshotTour::fail);
    connect(m_window->inferenceController(), &InferenceController::failed, this, &ScreenshotTour::fail);
    connect(m_window->chunkPage(), &ChunkPage::errorOccurred, this, [this](const QString &m) { fail(m); });
    m_window->chunkPage()->setOutputDir(QDir(m_outDir).filePath(QStringLiteral("chunks/x")));
    if (auto *compress = m_window->chunkPage()->findChild<QCheckBox *>(QStringLiteral("compress")))
        compress->setChecked(true); // the table then shows what compression gains
    if (!m_window->openPath(m_modelDir, true))
        fail(QStringLiteral("not a model: ") + m_modelDir);
}

void ScreenshotTour::chunked()
{
    shoot(MainWindow::ChunkTab, QStringLiteral("chunk.png"));
    connect(m_window->serverController(), &ServerController::started, this, &ScreenshotTour::serverStarted, Qt::SingleShotConnection);
    m_window->serverPage()->setPort(0);
    m_window->serverPage()->start();
}

void ScreenshotTour::serverStarted()
{
    connect(m_window->inferenceController(), &InferenceController::finished, this, &ScreenshotTour::promptFinished);
    m_window->showPage(MainWindow::DashboardTab);
    runPrompt(isEncoder() ? QStringLiteral("The cat sat on the mat.\nA cat was sitting on a mat.\nStock prices fell sharply today.")
                          : QStringLiteral("Once upon a time"));
}

bool ScreenshotTour::isEncoder() const
{
    try {
        return surfing::ModelConfig::load(m_modelDir).family == surfing::ModelFamily::Bert;
    } catch (const std::exception &) {
        return false;
    }
}

void ScreenshotTour::runPrompt(const QString &prompt)
{
    m_window->playgroundPage()->setPrompt(prompt);
    m_window->playgroundPage()->setMaxTokens(120);
    m_window->playgroundPage()->setCacheChunks(3); // smaller than the model: every step fetches
    m_window->playgroundPage()->run();
}

void ScreenshotTour::promptFinished()
{
    if (++m_prompts < 3) { // a conversation of three replies
        settle(400);
        // An encoder compares sentences (one per line) instead of continuing a prompt.
        const QString encoderPrompt = QStringLiteral("Hello, world!\nHello there, world.\nIt was supercalifragilisticexpialidocious.");
        runPrompt(isEncoder() ? encoderPrompt : m_prompts == 1 ? QStringLiteral("The little dog") : QStringLiteral("Lily and Tom went to the park."));
        return;
    }
    settle(700);
    shoot(MainWindow::PlaygroundTab, QStringLiteral("playground.png"));
    shoot(MainWindow::ServerTab, QStringLiteral("server.png"));
    shoot(MainWindow::DashboardTab, QStringLiteral("dashboard.png"));
    if (isEncoder()) {
        m_window->serverPage()->stop();
        Q_EMIT done(0);
        return;
    }
    askForTooManyTokens();
}

// A fourth prompt with Max new tokens above the model's context: refused, and the banner says
// which field to change, to what, and offers to run it with what fits.
void ScreenshotTour::askForTooManyTokens()
{
    InferenceController *inference = m_window->inferenceController();
    disconnect(inference, &InferenceController::finished, this, &ScreenshotTour::promptFinished);
    disconnect(inference, &InferenceController::failed, this, &ScreenshotTour::fail);
    connect(inference, &InferenceController::failed, this, [this] {
        settle(700);
        shoot(MainWindow::PlaygroundTab, QStringLiteral("playground-context-limit.png"));
        m_window->serverPage()->stop();
        Q_EMIT done(0);
    }, Qt::SingleShotConnection);
    connect(inference, &InferenceController::finished, this, [this] { fail(QStringLiteral("a run above the context limit was not refused")); },
            Qt::SingleShotConnection);
    m_window->showPage(MainWindow::PlaygroundTab);
    m_window->playgroundPage()->setPrompt(QStringLiteral("Tell me a long story."));
    m_window->playgroundPage()->setMaxTokens(4096);
    m_window->playgroundPage()->run();
}

void ScreenshotTour::shoot(int page, const QString &name)
{
    m_window->showPage(MainWindow::Page(page));
    settle(600);
    const QString path = QDir(m_outDir).filePath(name);
    if (!m_window->grab().save(path))
        fail(QStringLiteral("cannot write ") + path);
    QTextStream(stdout) << path << Qt::endl;
}

void ScreenshotTour::fail(const QString &why)
{
    QTextStream(stderr) << "surfing --screenshot: " << why << Qt::endl;
    Q_EMIT done(1);
}
