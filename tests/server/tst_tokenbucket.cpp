// The token bucket behind rate limits and bandwidth pacing, driven by an explicit clock.
#include "server/tokenbucket.h"

#include <QtTest>

using surfing::TokenBucket;

class TestTokenBucket : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void disabledAlwaysAdmits()
    {
        TokenBucket b;
        QVERIFY(!b.isEnabled());
        for (int i = 0; i < 1000; ++i)
            QCOMPARE(b.take(1e9, 0), 0);
    }

    void burstThenRetryAfter()
    {
        TokenBucket b(2, 4); // 2/s, burst 4
        for (int i = 0; i < 4; ++i)
            QCOMPARE(b.take(1, 1000), 0);
        const qint64 wait = b.take(1, 1000);
        QCOMPARE(wait, 500); // one token at 2/s
        QCOMPARE(b.take(1, 1250), 250); // half a token back after 250 ms
        QCOMPARE(b.take(1, 1500), 0);
        QCOMPARE(b.take(1, 1500), 500);
    }

    void refillStopsAtBurst()
    {
        TokenBucket b(10, 5);
        QCOMPARE(b.take(5, 0), 0);
        QCOMPARE(b.tokens(1000000), 5.0);
    }

    void largeAmountGoesIntoDebt()
    {
        TokenBucket b(100, 100); // 100 bytes/s
        QCOMPARE(b.take(1000, 0), 0);   // a chunk larger than the burst passes on a full bucket
        QCOMPARE(b.tokens(0), -900.0);
        QCOMPARE(b.take(1, 0), 9010);    // until the debt is paid back plus one token
        QCOMPARE(b.take(1000, 9000), 1000); // needs a full bucket again
        QCOMPARE(b.take(1000, 10000), 0);
    }

    void clockGoingBackwardsIsHarmless()
    {
        TokenBucket b(1, 1);
        QCOMPARE(b.take(1, 5000), 0);
        QVERIFY(b.take(1, 1000) > 0);
        QCOMPARE(b.take(1, 6000), 0);
    }
};

QTEST_GUILESS_MAIN(TestTokenBucket)
#include "tst_tokenbucket.moc"
