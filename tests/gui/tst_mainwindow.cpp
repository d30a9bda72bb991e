// The main window on the offscreen platform: dropping models and non-models, chunking through
// the real Chunker, and what the window shows afterwards.
#include "chunkpage.h"
#include "chunktablemodel.h"
#include "client/weightclient.h"
#include "errorbanner.h"
#include "requestlogmodel.h"
#include "servercontroller.h"
#include "serverpage.h"
#include "format/chunkmanifest.h"
#include "guitestsupport.h"
#include "mainwindow.h"
#include "modelgen/randommodel.h"
#include "testsupport.h"

#include <QCheckBox>
#include <QDir>
#include <QFile>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QtTest>

using namespace surfing;
using namespace surfing::ui;

class TestMainWindow : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void droppingAModelFolderChunksItAndFillsTheTable();
    void droppingAWeightFileUsesItsFolder();
    void droppingANonModelShowsAnErrorAndChangesNothing();
    void droppingAChunkFolderShowsItsChunks();
    void hubNamesAndCacheFoldersOpenTheirSnapshot();
    void cancelDuringChunkingLeavesNothingBehind();
    void serverStartsServesAndStops();
    void serverPortInUseIsShownInTheWindow();

private:
    QTemporaryDir m_home;
    QTemporaryDir m_work;
};

void TestMainWindow::initTestCase()
{
    QVERIFY(m_home.isValid());
    QVERIFY(m_work.isValid());
    test::isolateUserDirs(m_home);
    if (test::sharedModel(QStringLiteral("stories260K")).isEmpty())
        QSKIP("shared models not available");
}

void TestMainWindow::droppingAModelFolderChunksItAndFillsTheTable()
{
    MainWindow window;
    window.show();
    const QString out = m_work.filePath(QStringLiteral("stories-chunks"));
    window.chunkPage()->setOutputDir(out); // a drop keeps this folder and names the output after the model
    QSignalSpy finished(window.chunkPage(), &ChunkPage::chunkingFinished);
    QSignalSpy errors(window.chunkPage(), &ChunkPage::errorOccurred);

    const QString model = test::sharedModel(QStringLiteral("stories260K"));
    QVERIFY(test::dropPath(&window, model));
    QVERIFY(window.chunkPage()->isBusy() || finished.count() == 1);
    QVERIFY(finished.wait(120000) || finished.count() == 1);
    QCOMPARE(errors.count(), 0);

    const QString chunkDir = finished.first().first().toString();
    QCOMPARE(QDir(chunkDir).dirName(), QDir(model).dirName());
    const ChunkManifest manifest = ChunkManifest::load(chunkDir);
    ChunkTableModel *table = window.chunkPage()->tableModel();
    QCOMPARE(table->rowCount(), int(manifest.chunks.size()));
    QCOMPARE(manifest.numLayers, 5);
    QCOMPARE(table->index(0, ChunkTableModel::Name).data().toString(), QStringLiteral("embed_tokens"));
    for (int row = 0; row < table->rowCount(); ++row) {
        const ManifestChunk &chunk = manifest.chunks.at(row);
        QCOMPARE(table->index(row, ChunkTableModel::Name).data().toString(), chunk.name);
        QCOMPARE(table->index(row, ChunkTableModel::Sha256).data(Qt::UserRole).toString(), QString::fromLatin1(chunk.sha256));
        QCOMPARE(table->index(row, ChunkTableModel::StoredSize).data(Qt::UserRole).toLongLong(), chunk.storedBytes);
        QVERIFY(QFile::exists(QDir(chunkDir).filePath(chunk.file)));
    }
    QCOMPARE(window.chunkPage()->progressBar()->value(), window.chunkPage()->progressBar()->maximum());
    QVERIFY(!window.errorBanner()->isShowingError());
    QCOMPARE(window.recentModels().value(0), QDir(model).absolutePath());
}

void TestMainWindow::droppingAWeightFileUsesItsFolder()
{
    MainWindow window;
    window.show();
    const QString model = test::sharedModel(QStringLiteral("stories260K"));
    QVERIFY(window.openPath(QDir(model).filePath(QStringLiteral("model.safetensors")), false));
    QCOMPARE(window.chunkPage()->modelPath(), QDir(model).absolutePath());
    QVERIFY(!window.chunkPage()->isBusy());
}

// `surfing Qwen/Qwen3-0.6B` and a dropped models--ORG--NAME folder of the Hugging Face cache.
void TestMainWindow::hubNamesAndCacheFoldersOpenTheirSnapshot()
{
    const QString cache = m_work.filePath(QStringLiteral("hf-hub"));
    const QString snapshot = test::addHubSnapshot(cache, QStringLiteral("karpathy/stories260K"),
                                                  QStringLiteral("0123456789abcdef0123456789abcdef01234567"),
                                                  test::sharedModelFiles(QStringLiteral("stories260K")));
    qputenv("HF_HUB_CACHE", cache.toUtf8());
    MainWindow window;
    window.show();
    window.chunkPage()->setOutputDir(m_work.filePath(QStringLiteral("out/x")));
    QVERIFY(window.openPath(QStringLiteral("karpathy/stories260K"), false));
    QCOMPARE(window.chunkPage()->modelPath(), snapshot);
    QCOMPARE(QFileInfo(window.chunkPage()->outputDir()).fileName(), QStringLiteral("stories260K"));
    QSignalSpy finished(window.chunkPage(), &ChunkPage::chunkingFinished);
    QVERIFY(test::dropPath(&window, cache + QStringLiteral("/models--karpathy--stories260K")));
    QCOMPARE(window.chunkPage()->modelPath(), snapshot);
    QVERIFY(finished.wait(120000) || finished.count() == 1);
    QVERIFY(!window.errorBanner()->isShowingError());
    const QString chunkDir = finished.first().first().toString();
    QCOMPARE(QDir(chunkDir).dirName(), QStringLiteral("stories260K"));
    QCOMPARE(ChunkManifest::load(chunkDir).modelName, QStringLiteral("stories260K"));
    QVERIFY(!window.openPath(QStringLiteral("karpathy/not-cached"), false));
    QVERIFY(window.errorBanner()->isShowingError());
    qunsetenv("HF_HUB_CACHE");
}

void TestMainWindow::droppingANonModelShowsAnErrorAndChangesNothing()
{
    MainWindow window;
    window.show();
    const QString model = test::sharedModel(QStringLiteral("stories260K"));
    QVERIFY(window.openPath(model, false));
    const QString outputBefore = window.chunkPage()->outputDir();
    const int rowsBefore = window.chunkPage()->tableModel()->rowCount();

    const QString notes = m_work.filePath(QStringLiteral("notes.txt"));
    QFile file(notes);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("not a model\n");
    file.close();
    QVERIFY(test::dropPath(&window, notes));

    QVERIFY(window.errorBanner()->isShowingError());
    QVERIFY2(window.errorBanner()->message().contains(QStringLiteral("notes.txt")), qPrintable(window.errorBanner()->message()));
    QVERIFY(!window.errorBanner()->action().isEmpty());
    QCOMPARE(window.chunkPage()->modelPath(), QDir(model).absolutePath());
    QCOMPARE(window.chunkPage()->outputDir(), outputBefore);
    QCOMPARE(window.chunkPage()->tableModel()->rowCount(), rowsBefore);
    QVERIFY(!window.chunkPage()->isBusy());

    // A folder without config.json is refused the same way.
    QVERIFY(test::dropPath(&window, m_work.path()));
    QVERIFY(window.errorBanner()->message().contains(QStringLiteral("config.json")));
    QCOMPARE(window.chunkPage()->modelPath(), QDir(model).absolutePath());
    QVERIFY(!window.chunkPage()->isBusy());
}

void TestMainWindow::droppingAChunkFolderShowsItsChunks()
{
    const QString chunkDir = m_work.filePath(QStringLiteral("cli-chunks"));
    const test::CliResult r = test::runCli({QStringLiteral("chunk"), test::sharedModel(QStringLiteral("bert-random")),
                                           QStringLiteral("-o"), chunkDir, QStringLiteral("--compress")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    MainWindow window;
    window.show();
    QVERIFY(test::dropPath(&window, chunkDir));
    QVERIFY(!window.chunkPage()->isBusy());
    QCOMPARE(window.chunkPage()->chunkDir(), chunkDir);
    const ChunkManifest manifest = ChunkManifest::load(chunkDir);
    QCOMPARE(window.chunkPage()->tableModel()->rowCount(), int(manifest.chunks.size()));
    QCOMPARE(window.chunkPage()->tableModel()->index(0, ChunkTableModel::Codec).data().toString(), QStringLiteral("zstd-bytegroup"));
}

// A person opens a model big enough to take a while, ticks compression at the slowest level,
// presses Chunk, sees the progress bar move and presses Cancel.
void TestMainWindow::cancelDuringChunkingLeavesNothingBehind()
{
    RandomModelSpec spec; // 16 layers of ~7 MB: zstd level 19 needs seconds for each
    spec.layers = 16;
    spec.hidden = 384;
    spec.intermediate = 1024;
    spec.heads = 6;
    spec.kvHeads = 6;
    const QString model = m_work.filePath(QStringLiteral("big-llama"));
    writeRandomModel(spec, model);
    const QString parent = m_work.filePath(QStringLiteral("cancel-out"));
    QVERIFY(QDir().mkpath(parent));
    const QString out = QDir(parent).filePath(QStringLiteral("big-llama"));

    MainWindow window;
    window.show();
    QVERIFY(window.openPath(model, false));
    ChunkPage *page = window.chunkPage();
    page->setOutputDir(out);
    auto *compress = page->findChild<QCheckBox *>(QStringLiteral("compress"));
    auto *level = page->findChild<QSpinBox *>(QStringLiteral("level"));
    auto *chunk = page->findChild<QPushButton *>(QStringLiteral("chunk"));
    auto *cancel = page->findChild<QPushButton *>(QStringLiteral("cancel"));
    QVERIFY(compress && level && chunk && cancel);
    QVERIFY(!cancel->isEnabled());
    QTest::mouseClick(compress, Qt::LeftButton);
    QVERIFY(compress->isChecked());
    level->setValue(level->maximum());

    QSignalSpy started(page, &ChunkPage::chunkingStarted);
    QSignalSpy finished(page, &ChunkPage::chunkingFinished);
    QSignalSpy errors(page, &ChunkPage::errorOccurred);
    QTest::mouseClick(chunk, Qt::LeftButton);
    QCOMPARE(started.count(), 1);
    QVERIFY(page->isBusy());
    QVERIFY(cancel->isEnabled());
    QVERIFY(!chunk->isEnabled());
    // Wait until the bar has moved: chunks are then on disk in the staging folder.
    QTRY_VERIFY_WITH_TIMEOUT(page->progressBar()->value() > 0 || !page->isBusy(), 120000);
    QVERIFY2(page->isBusy(), "chunking finished before Cancel could be pressed: make the model bigger");
    QVERIFY(!QDir(parent).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot).isEmpty());
    QTest::mouseClick(cancel, Qt::LeftButton);

    QTRY_VERIFY_WITH_TIMEOUT(!page->isBusy(), 120000);
    QCOMPARE(finished.count(), 0);
    QCOMPARE(errors.count(), 0);
    // Nothing at the destination, and no hidden staging folder beside it.
    QVERIFY(!QFileInfo::exists(out));
    QCOMPARE(QDir(parent).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot), QStringList());
    // Idle again: Chunk can be pressed, Cancel cannot, the options are editable, the table is empty.
    QVERIFY(chunk->isEnabled());
    QVERIFY(!cancel->isEnabled());
    QVERIFY(compress->isEnabled() && level->isEnabled());
    QCOMPARE(page->progressBar()->value(), 0);
    QVERIFY(page->findChild<QLabel *>(QStringLiteral("progressText"))->text().startsWith(QStringLiteral("Cancelled")));
    QCOMPARE(page->tableModel()->rowCount(), 0);
    QVERIFY(page->chunkDir().isEmpty());
    QVERIFY(!window.errorBanner()->isShowingError());
}

void TestMainWindow::serverStartsServesAndStops()
{
    const QString chunkDir = m_work.filePath(QStringLiteral("served"));
    const test::CliResult r = test::runCli({QStringLiteral("chunk"), test::sharedModel(QStringLiteral("stories260K")),
                                           QStringLiteral("-o"), chunkDir});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    MainWindow window;
    window.show();
    ServerPage *page = window.serverPage();
    ServerController *server = window.serverController();
    page->addChunkDir(chunkDir);
    page->setPort(0);
    QSignalSpy started(server, &ServerController::started);
    page->toggle(); // Start
    QVERIFY(started.wait(30000));
    QCOMPARE(server->state(), ServerController::State::Running);
    const QUrl url = started.first().first().toUrl();
    QVERIFY(url.port() > 0);
    QVERIFY2(window.serverStateText().contains(url.toString()), qPrintable(window.serverStateText()));

    // A real client fetches a chunk: the clients list, request log and statistics show it.
    const int logRows = window.findChild<RequestLogModel *>()->rowCount();
    WeightClientOptions options;
    options.url = url;
    WeightClient client(options);
    QSignalSpy received(&client, &WeightClient::chunkReceived);
    QSignalSpy clientFailed(&client, &WeightClient::requestFailed);
    client.open();
    client.fetchChunk(QStringLiteral("layer_0"));
    QVERIFY(received.wait(30000));
    QCOMPARE(clientFailed.count(), 0);
    QTRY_COMPARE(page->clientsModel()->rowCount(), 1);
    RequestLogModel *log = window.findChild<RequestLogModel *>();
    QTRY_VERIFY(log->rowCount() > logRows);
    bool served = false;
    for (int row = 0; row < log->rowCount(); ++row)
        served |= log->index(row, RequestLogModel::Chunk).data().toString() == QStringLiteral("layer_0");
    QVERIFY(served);
    QTRY_VERIFY2(page->statsText().contains(QStringLiteral("Chunks served</td><td align=right>1<")), qPrintable(page->statsText()));

    QSignalSpy stopped(server, &ServerController::stopped);
    page->toggle(); // Stop
    QVERIFY(stopped.wait(30000));
    QCOMPARE(server->state(), ServerController::State::Stopped);
    QCOMPARE(page->clientsModel()->rowCount(), 0);
    QVERIFY(window.serverStateText().contains(QStringLiteral("stopped")));
    client.close();
}

void TestMainWindow::serverPortInUseIsShownInTheWindow()
{
    const QString chunkDir = m_work.filePath(QStringLiteral("served-too"));
    const test::CliResult r = test::runCli({QStringLiteral("chunk"), test::sharedModel(QStringLiteral("bert-random")),
                                           QStringLiteral("-o"), chunkDir});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QTcpServer blocker;
    QVERIFY(blocker.listen(QHostAddress::LocalHost, 0));
    MainWindow window;
    window.show();
    window.serverPage()->addChunkDir(chunkDir);
    window.serverPage()->setPort(blocker.serverPort());
    QSignalSpy failed(window.serverController(), &ServerController::failed);
    window.serverPage()->start();
    QVERIFY(failed.wait(30000));
    QCOMPARE(window.serverController()->state(), ServerController::State::Stopped);
    QVERIFY(window.errorBanner()->isShowingError());
    QVERIFY2(window.errorBanner()->message().contains(QString::number(blocker.serverPort()))
                 || window.errorBanner()->action().contains(QString::number(blocker.serverPort())),
             qPrintable(window.errorBanner()->message() + window.errorBanner()->action()));
}

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
