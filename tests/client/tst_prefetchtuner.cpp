// PrefetchTuner: measures next-token steps at the deepest window and at none, in turn, keeps the
// faster, and measures again after a while.
#include "cache/prefetchtuner.h"

#include <QtTest>

#include <functional>

using namespace surfing;

namespace {

// Feeds `steps` steps whose time depends on the depth they ran at; returns the depths used.
QVector<int> run(PrefetchTuner &tuner, int steps, const std::function<double(int depth)> &secondsAt)
{
    QVector<int> used;
    for (int i = 0; i < steps; ++i) {
        used << tuner.depth();
        tuner.stepMeasured(secondsAt(tuner.depth()));
    }
    return used;
}

// Steps until both depths have their samples: each sample but the first comes after a step that
// settles the new depth. A clear call takes kRound steps, a close one kLongRound.
constexpr int kRound = 4 * PrefetchTuner::kSamplesPerDepth - 1;
constexpr int kLongRound = 4 * PrefetchTuner::kMaxSamplesPerDepth - 1;

} // namespace

class TestPrefetchTuner : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void measuresBothDepthsInTurnFirst();
    void keepsNoPrefetchWhenItIsFaster();
    void keepsTheWindowWhenItIsFaster();
    void oneSlowStepDoesNotDecide();
    void aStepAfterAChangeIsNotCounted();
    void aCloseCallTakesMoreSteps();
    void aStepAfterAPromptIsNotCounted();
    void measuresAgainAfterKeeping();
    void depthZeroHasNothingToChoose();
};

void TestPrefetchTuner::measuresBothDepthsInTurnFirst()
{
    PrefetchTuner tuner(2);
    QCOMPARE(tuner.depth(), 2);
    QVERIFY(tuner.isMeasuring());
    QCOMPARE(run(tuner, kRound, [](int depth) { return depth == 0 ? 0.3 : 0.25; }),
             (QVector<int>{2, 0, 0, 2, 2, 0, 0, 2, 2, 0, 0}));
    QVERIFY(!tuner.isMeasuring());
}

void TestPrefetchTuner::keepsNoPrefetchWhenItIsFaster()
{
    // Loopback on two cores: fetching beside compute slows both.
    PrefetchTuner tuner(2);
    run(tuner, kRound, [](int depth) { return depth == 0 ? 0.25 : 0.28; });
    QCOMPARE(tuner.depth(), 0);
    const QVector<int> kept = run(tuner, PrefetchTuner::kKeptSteps, [](int depth) { return depth == 0 ? 0.25 : 0.28; });
    QCOMPARE(kept, QVector<int>(PrefetchTuner::kKeptSteps, 0));
}

void TestPrefetchTuner::keepsTheWindowWhenItIsFaster()
{
    // A paced link: the window hides compute behind the transfer.
    PrefetchTuner tuner(3);
    run(tuner, kRound, [](int depth) { return depth == 0 ? 1.3 : 1.0; });
    QCOMPARE(tuner.depth(), 3);
    QCOMPARE(run(tuner, 5, [](int) { return 1.0; }), QVector<int>(5, 3));
}

void TestPrefetchTuner::oneSlowStepDoesNotDecide()
{
    // The median, not the mean: one step a neighbour slowed does not flip the choice.
    PrefetchTuner tuner(2);
    int zeroSteps = 0;
    run(tuner, kRound, [&](int depth) {
        if (depth != 0)
            return 0.28;
        return ++zeroSteps == 2 ? 5.0 : 0.25;
    });
    QVERIFY(tuner.isMeasuring()); // the slow step overlaps the window's: more steps
    run(tuner, kLongRound - kRound, [](int depth) { return depth == 0 ? 0.25 : 0.28; });
    QVERIFY(!tuner.isMeasuring());
    QCOMPARE(tuner.depth(), 0);
}

void TestPrefetchTuner::aStepAfterAPromptIsNotCounted()
{
    PrefetchTuner tuner(2);
    tuner.stepMeasured(0.25); // counted at 2
    tuner.stepMeasured(0.3);  // the first at 0: not counted
    QCOMPARE(tuner.depth(), 0);
    tuner.promptStepRan();    // a new prompt, at the full window
    tuner.stepMeasured(0.1);  // it fetched this step's first units: not counted
    QCOMPARE(tuner.depth(), 0);
    tuner.stepMeasured(0.3); // counted: now the window's turn
    QCOMPARE(tuner.depth(), 2);
}

void TestPrefetchTuner::aCloseCallTakesMoreSteps()
{
    // Steps of both depths that overlap: 5 of each, then the medians decide.
    PrefetchTuner tuner(2);
    int step = 0;
    run(tuner, kRound, [&](int depth) { return (depth == 0 ? 0.25 : 0.26) + (++step % 3) * 0.01; });
    QVERIFY(tuner.isMeasuring());
    run(tuner, kLongRound - kRound, [&](int depth) { return (depth == 0 ? 0.25 : 0.26) + (++step % 3) * 0.01; });
    QVERIFY(!tuner.isMeasuring());
    QCOMPARE(tuner.depth(), 0);
}

void TestPrefetchTuner::aStepAfterAChangeIsNotCounted()
{
    // The first step at depth 0 inherits the units the window step before it fetched ahead: it
    // is fast, but the depth is not; the steps that follow it show the truth.
    PrefetchTuner tuner(2);
    int previous = 2;
    run(tuner, kRound, [&](int depth) {
        const bool inherited = depth == 0 && previous != 0;
        previous = depth;
        return depth == 0 ? (inherited ? 0.1 : 0.3) : 0.25;
    });
    QCOMPARE(tuner.depth(), 2);
}

void TestPrefetchTuner::measuresAgainAfterKeeping()
{
    PrefetchTuner tuner(2);
    run(tuner, kRound, [](int depth) { return depth == 0 ? 0.25 : 0.28; });
    run(tuner, PrefetchTuner::kKeptSteps, [](int) { return 0.25; });
    // The link changed (say, the server moved away): the window now wins.
    QVERIFY(tuner.isMeasuring());
    QCOMPARE(tuner.depth(), 0); // measuring starts where it was
    run(tuner, kRound, [](int depth) { return depth == 0 ? 0.9 : 0.5; });
    QCOMPARE(tuner.depth(), 2);
    QVERIFY(!tuner.isMeasuring());
}

void TestPrefetchTuner::depthZeroHasNothingToChoose()
{
    PrefetchTuner tuner(0);
    QCOMPARE(run(tuner, 10, [](int) { return 0.1; }), QVector<int>(10, 0));
    PrefetchTuner negative(-3);
    QCOMPARE(negative.maxDepth(), 0);
}

QTEST_APPLESS_MAIN(TestPrefetchTuner)
#include "tst_prefetchtuner.moc"
