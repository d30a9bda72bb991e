// Issue 14, "Honest state": what the window shows is what is true. The Chunk page forgets the
// previous model, a drop never replaces what the running server serves nor pulls the user off the
// Playground, chunked models get served, restarts keep the chosen model, errors say what to do in
// the window's terms and go away when a run works, a dead server fails visibly and can be stopped.
// Real chunker, real in-process server, real `surfing-cli serve`, clicks and keys.
#include "chatpanel.h"
#include "chunkpage.h"
#include "chunktablemodel.h"
#include "errorbanner.h"
#include "guiclicks.h"
#include "guitestsupport.h"
#include "inferencecontroller.h"
#include "mainwindow.h"
#include "playgroundpage.h"
#include "serveprocess.h"
#include "servercontroller.h"
#include "serverpage.h"
#include "testsupport.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QPlainTextEdit>
#include <QLabel>
#include <QPushButton>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QtTest>

using namespace surfing;
using namespace surfing::ui;
using namespace surfing::test;

class TestAppState : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void init();
    void openingAnotherModelClearsTheChunkPage();
    void serveTheseChunksServesAndADropNeverReplacesThem();
    void modelsChunkedWhileServingAreServedAndTheChoiceIsKept();
    void aDeadServerShowsAttemptsAndStopGivesUp();
    void aWrongTokenIsNotAServerThatIsDown();
    void serveOptionServesAChunkFolderAndOpensThePlayground();
    void aListOfServersFailsOverToOneThatAnswers();

private:
    QString chunkInto(const QString &model, const QString &name);
    QString m_model, m_bert;
    QTemporaryDir m_home;
    QTemporaryDir m_work;
    int m_round = 0;
};

void TestAppState::initTestCase()
{
    QVERIFY(m_home.isValid());
    QVERIFY(m_work.isValid());
    isolateUserDirs(m_home);
    m_model = sharedModel(QStringLiteral("stories260K"));
    m_bert = sharedModel(QStringLiteral("bert-random"));
    if (m_model.isEmpty() || m_bert.isEmpty())
        QSKIP("shared models not available");
}

void TestAppState::init()
{
    // Every test starts with no saved settings (served folders, ports) of the one before.
    QDir(m_home.filePath(QStringLiteral("config"))).removeRecursively();
    ++m_round;
}

QString TestAppState::chunkInto(const QString &model, const QString &name)
{
    const QString out = m_work.filePath(name);
    const CliResult r = runCli({QStringLiteral("chunk"), model, QStringLiteral("-o"), out, QStringLiteral("--force")});
    return r.exitCode == 0 ? out : QString();
}

void TestAppState::openingAnotherModelClearsTheChunkPage()
{
    MainWindow window;
    window.show();
    ChunkPage *page = window.chunkPage();
    QVERIFY(window.openPath(m_model, false));
    page->setOutputDir(m_work.filePath(QStringLiteral("clear-%1").arg(m_round)));
    QSignalSpy finished(page, &ChunkPage::chunkingFinished);
    QVERIFY(click(buttonWithText(page, QStringLiteral("Chunk"))));
    QVERIFY(finished.wait(120000) || finished.count() == 1);
    QVERIFY(page->progressText().startsWith(QStringLiteral("Done")));
    QVERIFY(page->tableModel()->rowCount() > 0);

    // The next model: nothing of stories260K's table, "Done" or folder is left.
    QVERIFY(window.openPath(m_bert, false)); // as File › Recent models does
    QCOMPARE(page->modelPath(), QDir(m_bert).absolutePath());
    QCOMPARE(page->tableModel()->rowCount(), 0);
    QVERIFY2(!page->progressText().contains(QStringLiteral("Done")), qPrintable(page->progressText()));
    QVERIFY(page->chunkDir().isEmpty());
    QVERIFY2(page->summaryText().contains(QStringLiteral("bert-random")), qPrintable(page->summaryText()));
    QVERIFY(!buttonWithText(page, QStringLiteral("Serve these chunks"))->isEnabled());
}

void TestAppState::serveTheseChunksServesAndADropNeverReplacesThem()
{
    MainWindow window;
    window.show();
    ChunkPage *page = window.chunkPage();
    ServerController *server = window.serverController();
    window.serverPage()->setPort(0);
    page->setOutputDir(m_work.filePath(QStringLiteral("served-%1").arg(m_round)));
    QSignalSpy finished(page, &ChunkPage::chunkingFinished);
    QVERIFY(dropPath(&window, m_model));
    QVERIFY(finished.wait(120000) || finished.count() == 1);
    const QString chunks = finished.first().first().toString();

    // "Serve these chunks" serves them: the server starts with that folder.
    QSignalSpy started(server, &ServerController::started);
    QVERIFY(click(buttonWithText(page, QStringLiteral("Serve these chunks"))));
    QVERIFY(started.wait(30000) || started.count() == 1);
    QVERIFY(server->serves(chunks));
    QVERIFY(server->modelNames().contains(QStringLiteral("stories260K")));

    // Dropping the same model again would chunk into the folder the server serves: refused, said.
    const QDateTime before = QFileInfo(QDir(chunks).filePath(QStringLiteral("chunk_info.json"))).lastModified();
    window.showPage(MainWindow::ServerTab);
    QVERIFY(dropPath(&window, m_model));
    QVERIFY(!page->isBusy());
    QVERIFY(window.errorBanner()->isShowingError());
    QVERIFY2(window.errorBanner()->message().contains(QDir::toNativeSeparators(chunks)), qPrintable(window.errorBanner()->message()));
    QVERIFY2(window.errorBanner()->action().contains(QStringLiteral("Output")), qPrintable(window.errorBanner()->action()));
    QCOMPARE(QFileInfo(QDir(chunks).filePath(QStringLiteral("chunk_info.json"))).lastModified(), before);
    QCOMPARE(server->state(), ServerController::State::Running);
    QVERIFY(server->serves(chunks));
}

void TestAppState::modelsChunkedWhileServingAreServedAndTheChoiceIsKept()
{
    const QString stories = chunkInto(m_model, QStringLiteral("keep-%1").arg(m_round));
    QVERIFY(!stories.isEmpty());
    MainWindow window;
    window.show();
    ServerController *server = window.serverController();
    window.serverPage()->setPort(0);
    window.serverPage()->addChunkDir(stories);
    QSignalSpy started(server, &ServerController::started);
    QVERIFY(click(buttonWithText<QPushButton>(window.serverPage(), QStringLiteral("Start server"))));
    QVERIFY(started.wait(30000) || started.count() == 1);

    // The user picks stories260K in the Playground.
    PlaygroundPage *playground = window.playgroundPage();
    QComboBox *models = comboOffering(playground, QStringLiteral("stories260K"));
    QVERIFY(models);
    models->setCurrentIndex(models->findText(QStringLiteral("stories260K")));

    // A model chunked now is served by the running server, no restart by hand.
    window.chunkPage()->setOutputDir(m_work.filePath(QStringLiteral("bert-%1").arg(m_round)));
    started.clear();
    QVERIFY(dropPath(&window, m_bert));
    QTRY_VERIFY_WITH_TIMEOUT(started.count() >= 1 && server->state() == ServerController::State::Running, 60000);
    QTRY_VERIFY(server->modelNames().contains(QStringLiteral("bert-random")));
    QVERIFY(server->modelNames().contains(QStringLiteral("stories260K")));
    QTRY_VERIFY(comboOffering(playground, QStringLiteral("bert-random")) != nullptr);
    models = comboOffering(playground, QStringLiteral("bert-random"));
    QVERIFY(models);
    QCOMPARE(models->currentText(), QStringLiteral("stories260K"));

    // Stop and Start again by hand: the choice is still there.
    QSignalSpy stopped(server, &ServerController::stopped);
    QVERIFY(click(buttonWithText<QPushButton>(window.serverPage(), QStringLiteral("Stop server"))));
    QVERIFY(stopped.wait(30000) || stopped.count() == 1);
    started.clear();
    QVERIFY(click(buttonWithText<QPushButton>(window.serverPage(), QStringLiteral("Start server"))));
    QVERIFY(started.wait(30000) || started.count() == 1);
    QTRY_VERIFY(comboOffering(playground, QStringLiteral("bert-random")) != nullptr);
    QCOMPARE(comboOffering(playground, QStringLiteral("bert-random"))->currentText(), QStringLiteral("stories260K"));
}

void TestAppState::aDeadServerShowsAttemptsAndStopGivesUp()
{
    QTcpServer probe; // a port where nothing listens
    QVERIFY(probe.listen(QHostAddress::LocalHost));
    const QString url = QStringLiteral("ws://127.0.0.1:%1").arg(probe.serverPort());
    probe.close();
    MainWindow window;
    window.show();
    ServerPage *server = window.serverPage();
    QVERIFY(typeInto(fieldWithPlaceholder(server, QStringLiteral("ws://127.0.0.1:8765/MODEL")), url));
    QVERIFY(click(buttonWithText(server, QStringLiteral("Use in Playground"))));
    QCOMPARE(window.currentPage(), MainWindow::PlaygroundTab);

    PlaygroundPage *page = window.playgroundPage();
    page->setPrompt(QStringLiteral("Once upon a time"));
    InferenceController *inference = window.inferenceController();
    QVERIFY(click(buttonWithText(page, QStringLiteral("Run"))));
    QVERIFY(inference->isRunning());
    // The URL in use and the attempts so far are on the Playground while it tries.
    auto stats = [page] {
        QString all;
        for (QLabel *l : page->findChildren<QLabel *>())
            all += l->text() + QLatin1Char('\n');
        return all;
    };
    QTRY_VERIFY2_WITH_TIMEOUT(stats().contains(QStringLiteral("attempt 2")), qPrintable(stats()), 20000);
    QVERIFY(stats().contains(url));

    // A model dropped meanwhile goes to the Chunk page without taking the user there.
    QVERIFY(window.openPath(m_bert, false));
    QCOMPARE(window.currentPage(), MainWindow::PlaygroundTab);

    QSignalSpy cancelled(inference, &InferenceController::cancelled);
    QVERIFY(click(buttonWithText(page, QStringLiteral("Stop"))));
    QCOMPARE(cancelled.count(), 1); // at once, not after the connect timeout
    QVERIFY(!inference->isRunning());
    QVERIFY(!page->isRunning());
    QVERIFY2(stats().contains(QStringLiteral("Stopped connecting")), qPrintable(stats()));
    QVERIFY(!window.errorBanner()->isShowingError());
}

void TestAppState::aWrongTokenIsNotAServerThatIsDown()
{
    const QString chunks = chunkInto(m_model, QStringLiteral("token-%1").arg(m_round));
    QVERIFY(!chunks.isEmpty());
    ServeProcess serve;
    QVERIFY(serve.start({chunks, QStringLiteral("--host"), QStringLiteral("127.0.0.1"), QStringLiteral("--token"), QStringLiteral("right")}));
    MainWindow window;
    window.resize(1280, 800);
    window.show();
    ServerPage *server = window.serverPage();
    QVERIFY(typeInto(fieldWithPlaceholder(server, QStringLiteral("ws://127.0.0.1:8765/MODEL")), serve.url().toString()));
    QLineEdit *token = nullptr;
    for (QLineEdit *e : server->findChildren<QLineEdit *>())
        if (e->echoMode() == QLineEdit::PasswordEchoOnEdit && e->placeholderText().isEmpty())
            token = e;
    QVERIFY(typeInto(token, QStringLiteral("wrong")));
    QVERIFY(click(buttonWithText(server, QStringLiteral("Use in Playground"))));

    PlaygroundPage *page = window.playgroundPage();
    page->setPrompt(QStringLiteral("Once upon a time"));
    page->setMaxTokens(4);
    QWidget *shown = window.page(MainWindow::PlaygroundTab);
    const QRect pageBefore(shown->mapTo(&window, QPoint(0, 0)), shown->size());
    InferenceController *inference = window.inferenceController();
    QSignalSpy failed(inference, &InferenceController::failed);
    QVERIFY(click(buttonWithText(page, QStringLiteral("Run"))));
    QVERIFY(failed.wait(60000) || failed.count() == 1);
    ErrorBanner *banner = window.errorBanner();
    QVERIFY(banner->isShowingError());
    // The advice names the field to fix, not a server that is not running.
    QVERIFY2(banner->action().contains(QStringLiteral("Token")), qPrintable(banner->action()));
    QVERIFY2(!banner->action().contains(QStringLiteral("running")), qPrintable(banner->action()));
    // The banner floats: the page under the mouse did not move or shrink.
    QCOMPARE(QRect(shown->mapTo(&window, QPoint(0, 0)), shown->size()), pageBefore);
    QVERIFY(banner->geometry().intersects(QRect(shown->mapTo(window.centralWidget(), QPoint(0, 0)), shown->size())));

    // The right token, and the next run works: the banner goes.
    window.showPage(MainWindow::ServerTab);
    QVERIFY(typeInto(token, QStringLiteral("right")));
    QVERIFY(click(buttonWithText(server, QStringLiteral("Use in Playground"))));
    QSignalSpy finished(inference, &InferenceController::finished);
    page->setPrompt(QStringLiteral("Once upon a time")); // a chat: the sent prompt left the box
    QVERIFY(click(buttonWithText(page, QStringLiteral("Run"))));
    QVERIFY(finished.wait(60000) || finished.count() == 1);
    QVERIFY(!banner->isShowingError());
}

// `surfing --serve DIR` (and scripts/demo.sh --gui): served at once, the Playground shown with it.
void TestAppState::serveOptionServesAChunkFolderAndOpensThePlayground()
{
    const QString chunks = chunkInto(m_model, QStringLiteral("serve-%1").arg(m_round));
    QVERIFY(!chunks.isEmpty());
    MainWindow window;
    window.show();
    window.serverPage()->setPort(0);
    QSignalSpy started(window.serverController(), &ServerController::started);
    QVERIFY(window.openAndServe(chunks));
    QVERIFY(started.wait(30000) || started.count() == 1);
    QVERIFY(window.serverController()->serves(chunks));
    QTRY_COMPARE(window.currentPage(), MainWindow::PlaygroundTab);
    QVERIFY(comboOffering(window.playgroundPage(), QStringLiteral("stories260K")) != nullptr);
}

// Issue 15, "The GUI accepts a list too": several servers of one model in the remote URL field,
// comma separated. The first one is dead; the run goes to the live `surfing-cli serve` and
// completes with Hugging Face's greedy ids.
void TestAppState::aListOfServersFailsOverToOneThatAnswers()
{
    const QString chunks = chunkInto(m_model, QStringLiteral("replicas-%1").arg(m_round));
    QVERIFY(!chunks.isEmpty());
    ServeProcess serve;
    QVERIFY(serve.start({chunks, QStringLiteral("--host"), QStringLiteral("127.0.0.1")}));
    QTcpServer probe; // a port where nothing listens
    QVERIFY(probe.listen(QHostAddress::LocalHost));
    const QString dead = QStringLiteral("ws://127.0.0.1:%1").arg(probe.serverPort());
    probe.close();

    MainWindow window;
    window.resize(1280, 800);
    window.show();
    ServerPage *server = window.serverPage();
    window.showPage(MainWindow::ServerTab);
    QLineEdit *urls = fieldWithPlaceholder(server, QStringLiteral("ws://127.0.0.1:8765/MODEL"));
    // A bad entry in the list is named, and nothing is used.
    QVERIFY(typeInto(urls, dead + QStringLiteral(", http://127.0.0.1:1")));
    QVERIFY(click(buttonWithText(server, QStringLiteral("Use in Playground"))));
    QVERIFY2(window.errorBanner()->message().contains(QStringLiteral("'http://127.0.0.1:1' is not a ws://")), qPrintable(window.errorBanner()->message()));
    QCOMPARE(window.currentPage(), MainWindow::ServerTab);
    QVERIFY(typeInto(urls, dead + QStringLiteral(", ") + serve.url().toString()));
    QVERIFY(click(buttonWithText(server, QStringLiteral("Use in Playground"))));
    QCOMPARE(window.currentPage(), MainWindow::PlaygroundTab);

    const QJsonObject golden = readJsonObject(m_model + QStringLiteral("/golden/prompts.json"))
                                   .value(QStringLiteral("prompts")).toArray().first().toObject();
    PlaygroundPage *page = window.playgroundPage();
    page->setMaxTokens(12);
    QPlainTextEdit *prompt = page->chatPanel()->promptEdit();
    prompt->setFocus();
    prompt->selectAll(); // typed over, as a person replaces the default prompt
    QTest::keyClicks(prompt, golden.value(QStringLiteral("prompt")).toString());
    InferenceController *inference = window.inferenceController();
    QSignalSpy finished(inference, &InferenceController::finished);
    QSignalSpy failed(inference, &InferenceController::failed);
    QVERIFY(click(buttonWithText(page, QStringLiteral("Run"))));
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() + failed.count() > 0, 120000);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().first().toString()));
    const InferenceResult result = finished.first().first().value<InferenceResult>();
    QCOMPARE(result.newIds, idsFromJson(golden.value(QStringLiteral("greedy_ids"))).mid(0, 12));
    QVERIFY(!window.errorBanner()->isShowingError());
    // The Playground says where the weights came from: the whole list, not just the dead one.
    QString shown;
    for (QLabel *label : page->findChildren<QLabel *>())
        shown += label->text() + QLatin1Char('\n');
    QVERIFY2(shown.contains(QStringLiteral("weights from %1, %2").arg(dead, serve.url().toString())), qPrintable(shown));
}

QTEST_MAIN(TestAppState)
#include "tst_appstate.moc"
