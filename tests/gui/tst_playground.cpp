// The Playground and the Dashboard end to end: a real in-process server, the real inference
// session streaming stories260K, and the dashboard models and views filling while it runs.
#include "dashboardpage.h"
#include "errorbanner.h"
#include "format/safetensors.h"
#include "guitestsupport.h"
#include "inference/inferenceoptions.h"
#include "inferencecontroller.h"
#include "latencyhistogramchart.h"
#include "mainwindow.h"
#include "metricshistorymodel.h"
#include "metricssampler.h"
#include "playgroundpage.h"
#include "servercontroller.h"
#include "serverpage.h"
#include "testsupport.h"
#include "timelinemodel.h"
#include "timelinewidget.h"
#include "timeserieschart.h"

#include <QFile>
#include <QImage>
#include <QLabel>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineSeries>
#include <QProcess>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTcpServer>
#include <QtTest>
#include <QRegularExpression>
#include <cmath>
#include <cstring>
#include <numeric>

using namespace surfing;
using namespace surfing::ui;

class TestPlayground : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void promptStreamsTextAndFillsTheDashboard();
    void remoteServerWorksTheSameWay();
    void bertComparesSentences();
    void runWithoutServerShowsWhatToDo();
    void prefetchBoxGoesFromAutoToANumber();

private:
    QTemporaryDir m_home;
    QTemporaryDir m_work;
    QString m_chunks;
};

void TestPlayground::initTestCase()
{
    QVERIFY(m_home.isValid());
    test::isolateUserDirs(m_home);
    if (test::sharedModel(QStringLiteral("stories260K")).isEmpty())
        QSKIP("shared models not available");
    m_chunks = m_work.filePath(QStringLiteral("stories260K"));
    const test::CliResult r = test::runCli({QStringLiteral("chunk"), test::sharedModel(QStringLiteral("stories260K")),
                                           QStringLiteral("-o"), m_chunks, QStringLiteral("--compress")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
}

static QJsonObject firstGoldenPrompt()
{
    const QByteArray json = test::readFile(test::sharedModel(QStringLiteral("stories260K")) + QStringLiteral("/golden/prompts.json"));
    return QJsonDocument::fromJson(json).object().value(QStringLiteral("prompts")).toArray().first().toObject();
}

void TestPlayground::promptStreamsTextAndFillsTheDashboard()
{
    MainWindow window;
    window.show();
    window.serverPage()->addChunkDir(m_chunks);
    window.serverPage()->setPort(0);
    QSignalSpy started(window.serverController(), &ServerController::started);
    window.serverPage()->start();
    QVERIFY(started.wait(30000));

    const QJsonObject golden = firstGoldenPrompt();
    QVector<qint64> expectedIds;
    for (const QJsonValue &v : golden.value(QStringLiteral("greedy_ids")).toArray())
        expectedIds.append(v.toInteger());
    PlaygroundPage *page = window.playgroundPage();
    page->setPrompt(golden.value(QStringLiteral("prompt")).toString());
    page->setMaxTokens(int(expectedIds.size()));

    const int samplesBefore = window.metricsHistory()->rowCount();
    QSignalSpy tokens(window.inferenceController(), &InferenceController::tokenGenerated);
    QSignalSpy finished(window.inferenceController(), &InferenceController::finished);
    QSignalSpy failed(window.inferenceController(), &InferenceController::failed);
    QSignalSpy requested(page, &PlaygroundPage::runRequested);
    page->run();
    QVERIFY(page->isRunning());
    // The prefetch box starts at auto: up to 2 chunks ahead, or none when steps measure faster.
    QCOMPARE(requested.count(), 1);
    const auto request = requested.first().first().value<surfing::ui::PlaygroundRequest>();
    QVERIFY(request.options.adaptivePrefetch);
    QCOMPARE(request.options.prefetchDepth, 2);
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() + failed.count() > 0, 120000);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().first().toString()));
    const InferenceResult result = finished.first().first().value<InferenceResult>();

    // Streamed text, the engine's ids equal to Hugging Face's greedy continuation.
    QCOMPARE(result.newIds, expectedIds);
    QCOMPARE(tokens.count(), int(expectedIds.size()));
    QVERIFY(!page->outputText().trimmed().isEmpty());
    const QString firstWord = golden.value(QStringLiteral("greedy_text")).toString().section(QLatin1Char(' '), 0, 0);
    QVERIFY2(page->outputText().contains(firstWord), qPrintable(page->outputText()));
    QVERIFY(!page->isRunning());

    // The timeline holds every layer event of the run; the dashboard's series gained points.
    TimelineModel *timeline = window.timelineModel();
    QCOMPARE(timeline->rowCount(), int(result.timeline.size()));
    QVERIFY(timeline->units().contains(QStringLiteral("layer_0")));
    QVERIFY(timeline->lastStep() >= int(expectedIds.size()) - 1);
    QTRY_VERIFY(window.metricsHistory()->rowCount() > samplesBefore);
    DashboardPage *dashboard = window.dashboardPage();
    window.showPage(MainWindow::DashboardTab); // charts are drawn while they are seen
    QTRY_VERIFY(dashboard->hitRateChart()->line(0)->count() > 0);
    QTRY_VERIFY(dashboard->memoryChart()->line(0)->count() > 0);
    QTRY_VERIFY(dashboard->cacheChart()->line(0)->count() > 0);
    QTRY_VERIFY(dashboard->throughputChart()->line(0)->count() > 0);
    auto histogramTotal = [dashboard] {
        const QVector<qint64> counts = dashboard->histogram()->counts();
        return std::accumulate(counts.begin(), counts.end(), qint64(0));
    };
    QTRY_VERIFY(histogramTotal() > 0);
    QCOMPARE(histogramTotal(), qint64(window.metricsSampler()->fetchLatenciesMs().size()));

    // The timeline widget finds the event under a point on one of its bars.
    window.showPage(MainWindow::DashboardTab);
    TimelineWidget *view = dashboard->timelineWidget();
    int found = -1;
    for (int x = 0; x < view->width() && found < 0; x += 2)
        for (int y = 0; y < view->height() && found < 0; y += 2)
            found = view->eventAt(QPoint(x, y));
    QVERIFY(found >= 0);
    QVERIFY(found < timeline->rowCount());

    // A second prompt through the same client cache: now the layers are hits.
    QSignalSpy finishedAgain(window.inferenceController(), &InferenceController::finished);
    page->setPrompt(golden.value(QStringLiteral("prompt")).toString()); // a sent prompt leaves the box
    page->run();
    QTRY_VERIFY_WITH_TIMEOUT(finishedAgain.count() + failed.count() > 0, 120000);
    QCOMPARE(failed.count(), 0);
    const InferenceResult second = finishedAgain.first().first().value<InferenceResult>();
    QVERIFY(second.stats.cacheHits > 0);
    // The timeline shows this run alone, its steps counted from 0 (issue 14).
    QCOMPARE(timeline->rowCount(), int(second.timeline.size()));
    QCOMPARE(timeline->events().constFirst().step, 0);
    QCOMPARE(timeline->lastStep(), second.stats.steps - 1);
    QCOMPARE(timeline->runNumber(), 2);
    bool sawHit = false;
    for (const LayerEvent &e : timeline->events())
        sawHit |= e.cacheHit;
    QVERIFY(sawHit);

    // Export: the CSV rows are the samples and the events; the PNG is a picture of the page.
    const QString csv = m_work.filePath(QStringLiteral("dash.csv"));
    dashboard->setPaused(true);
    dashboard->exportCsv(csv);
    const QList<QByteArray> lines = test::readFile(csv).trimmed().split('\n');
    QCOMPARE(lines.size(), window.metricsHistory()->rowCount() + 1);
    QVERIFY(lines.first().startsWith("seconds,hit_rate"));
    const QList<QByteArray> events = test::readFile(m_work.filePath(QStringLiteral("dash-timeline.csv"))).trimmed().split('\n');
    QCOMPARE(events.size(), timeline->rowCount() + 1);
    const QString png = m_work.filePath(QStringLiteral("dash.png"));
    dashboard->exportPng(png);
    QImage image(png);
    QVERIFY(!image.isNull());
    QCOMPARE(image.size(), dashboard->size() * dashboard->devicePixelRatio());

    dashboard->clear();
    QCOMPARE(timeline->rowCount(), 0);
    QCOMPARE(window.metricsHistory()->rowCount(), 0);
}

void TestPlayground::remoteServerWorksTheSameWay()
{
    QTcpServer probe; // a free port for the separate server process
    QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
    const quint16 port = probe.serverPort();
    probe.close();
    QProcess server;
    server.setProcessChannelMode(QProcess::MergedChannels);
    QByteArray log;
    connect(&server, &QProcess::readyRead, this, [&] { log += server.readAll(); });
    server.start(test::cliPath(), {QStringLiteral("serve"), m_chunks, QStringLiteral("--port"), QString::number(port)});
    QVERIFY(server.waitForStarted());
    QTRY_VERIFY_WITH_TIMEOUT(log.contains("listening"), 60000);

    MainWindow window;
    window.show();
    const QJsonObject golden = firstGoldenPrompt();
    QVector<qint64> expectedIds;
    for (const QJsonValue &v : golden.value(QStringLiteral("greedy_ids")).toArray())
        expectedIds.append(v.toInteger());
    expectedIds.resize(8);
    PlaygroundPage *page = window.playgroundPage();
    page->setRemoteServer(QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(port)), QString());
    page->setPrompt(golden.value(QStringLiteral("prompt")).toString());
    page->setMaxTokens(8);
    QSignalSpy finished(window.inferenceController(), &InferenceController::finished);
    QSignalSpy failed(window.inferenceController(), &InferenceController::failed);
    page->run();
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() + failed.count() > 0, 120000);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().first().toString()));
    QCOMPARE(finished.first().first().value<InferenceResult>().newIds, expectedIds);
    QVERIFY(!page->outputText().isEmpty());
    // What the remote model is, learnt when it opened: its context under Max new tokens.
    QVERIFY2(page->contextNote()->text().contains(QStringLiteral("512 tokens")), qPrintable(page->contextNote()->text()));
    QVERIFY(window.timelineModel()->rowCount() > 0);
    server.terminate();
    QVERIFY(server.waitForFinished(30000));
}

// Mean over tokens of a golden last_hidden_state [1, T, H] made by Hugging Face transformers.
static QVector<double> goldenSentenceVector(const QString &caseName)
{
    SafetensorsFile file(test::sharedModel(QStringLiteral("bert-random")) + QStringLiteral("/golden/%1.safetensors").arg(caseName));
    const TensorInfo *t = file.header().find(QStringLiteral("last_hidden_state"));
    const qint64 tokens = t->shape[1], width = t->shape[2];
    const QByteArrayView data = file.tensorData(*t);
    QVector<double> sum(width, 0.0);
    for (qint64 i = 0; i < tokens * width; ++i) {
        float v;
        std::memcpy(&v, data.data() + i * qint64(sizeof(float)), sizeof(float));
        sum[i % width] += v / double(tokens);
    }
    return sum;
}

static double cosine(const QVector<double> &a, const QVector<double> &b)
{
    double dot = 0, na = 0, nb = 0;
    for (int i = 0; i < a.size(); ++i) {
        dot += a[i] * b[i];
        na += a[i] * a[i];
        nb += b[i] * b[i];
    }
    return dot / std::sqrt(na * nb);
}

// The encoder demo: one sentence per line, each compared with the first, on the real BERT
// engine behind the in-process server; the figures match Hugging Face's hidden states.
void TestPlayground::bertComparesSentences()
{
    const QString bert = test::sharedModel(QStringLiteral("bert-random"));
    if (bert.isEmpty())
        QSKIP("bert-random not available");
    const QString chunks = m_work.filePath(QStringLiteral("bert-random"));
    const test::CliResult r = test::runCli({QStringLiteral("chunk"), bert, QStringLiteral("-o"), chunks});
    QVERIFY2(r.exitCode == 0, r.err.constData());

    MainWindow window;
    window.show();
    window.serverPage()->addChunkDir(chunks);
    window.serverPage()->setPort(0);
    QSignalSpy started(window.serverController(), &ServerController::started);
    window.serverPage()->start();
    QVERIFY(started.wait(30000));

    const QStringList sentences{QStringLiteral("Hello, world!"), QStringLiteral("Caf\u00e9 na\u00efve r\u00e9sum\u00e9"),
                                QStringLiteral("It was supercalifragilisticexpialidocious.")};
    const QVector<double> golden0 = goldenSentenceVector(QStringLiteral("01_hello"));
    const QVector<double> expected{1.0, cosine(golden0, goldenSentenceVector(QStringLiteral("02_accents"))),
                                   cosine(golden0, goldenSentenceVector(QStringLiteral("04_oov")))};
    PlaygroundPage *page = window.playgroundPage();
    page->setPrompt(sentences.join(QLatin1Char('\n')));
    QSignalSpy computed(window.inferenceController(), &InferenceController::similaritiesComputed);
    QSignalSpy finished(window.inferenceController(), &InferenceController::finished);
    QSignalSpy failed(window.inferenceController(), &InferenceController::failed);
    page->run();
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() + failed.count() > 0, 120000);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().first().toString()));
    QCOMPARE(computed.count(), 1);
    QCOMPARE(computed.first().at(0).toStringList(), sentences);
    const QVector<double> toFirst = computed.first().at(1).value<QVector<double>>();
    QCOMPARE(toFirst.size(), 3);
    for (int i = 0; i < 3; ++i)
        QVERIFY2(std::abs(toFirst[i] - expected[i]) < 1e-4, qPrintable(QStringLiteral("line %1: %2 vs %3").arg(i).arg(toFirst[i]).arg(expected[i])));

    // What the window shows: every sentence beside its figure, four decimals, and its token count
    // (the goldens' lengths: [CLS] ... [SEP]).
    const QString shown = page->outputText();
    QVector<int> tokens;
    for (const char *golden : {"01_hello", "02_accents", "04_oov"})
        tokens << int(test::readJsonObject(bert + QStringLiteral("/golden/%1.json").arg(QLatin1String(golden)))
                          .value(QStringLiteral("input_ids")).toArray().first().toArray().size());
    QCOMPARE(computed.first().at(2).value<QVector<int>>(), tokens);
    for (int i = 0; i < 3; ++i) {
        QVERIFY2(shown.contains(sentences[i]), qPrintable(shown));
        const QRegularExpression row(QStringLiteral("(-?\\d\\.\\d{4})\\s*(\\d+)\\s*") + QRegularExpression::escape(sentences[i]));
        const QRegularExpressionMatch m = row.match(shown);
        QVERIFY2(m.hasMatch(), qPrintable(shown));
        QVERIFY(std::abs(m.captured(1).toDouble() - expected[i]) < 1e-3);
        QCOMPARE(m.captured(2).toInt(), tokens[i]);
    }
    QVERIFY(!page->isRunning());
    QVERIFY(window.timelineModel()->units().contains(QStringLiteral("layer_1")));
    QVERIFY(!window.errorBanner()->isShowingError());

    // One line: the encoder's output (6 tokens, 128 wide, as in the golden) and how to compare.
    page->setPrompt(sentences.first());
    QSignalSpy finishedOne(window.inferenceController(), &InferenceController::finished);
    page->run();
    QTRY_VERIFY_WITH_TIMEOUT(finishedOne.count() + failed.count() > 0, 120000);
    QCOMPARE(failed.count(), 0);
    QCOMPARE(computed.count(), 1);
    QVERIFY2(page->outputText().contains(QStringLiteral("last_hidden_state [1, 6, 128]")), qPrintable(page->outputText()));
    QVERIFY(page->outputText().contains(QStringLiteral("one per line")));
}

void TestPlayground::runWithoutServerShowsWhatToDo()
{
    MainWindow window;
    window.show();
    QSignalSpy runs(window.playgroundPage(), &PlaygroundPage::runRequested);
    window.playgroundPage()->setPrompt(QStringLiteral("Once upon a time"));
    window.playgroundPage()->run();
    QCOMPARE(runs.count(), 0);
    QVERIFY(!window.playgroundPage()->isRunning());
    QVERIFY(window.errorBanner()->isShowingError());
    QVERIFY2(window.errorBanner()->message().contains(QStringLiteral("server")), qPrintable(window.errorBanner()->message()));
    QVERIFY(window.errorBanner()->action().contains(QStringLiteral("Server page")));
}

void TestPlayground::prefetchBoxGoesFromAutoToANumber()
{
    PlaygroundPage page;
    page.show();
    auto *box = page.findChild<QSpinBox *>(QStringLiteral("prefetchDepth"));
    QVERIFY(box);
    QCOMPARE(box->text(), QStringLiteral("auto (up to 2)"));
    QSignalSpy changed(&page, &PlaygroundPage::setupChanged);
    // One step up from auto is 0: no prefetch, fixed.
    box->setFocus();
    QTest::keyClick(box, Qt::Key_Up);
    QCOMPARE(box->value(), 0);
    QCOMPARE(box->text(), QStringLiteral("0"));
    QVERIFY(changed.count() > 0);
    QTest::keyClick(box, Qt::Key_Down);
    QCOMPARE(box->text(), QStringLiteral("auto (up to 2)"));
}

QTEST_MAIN(TestPlayground)
#include "tst_playground.moc"
