// ReceiptVerifier: SHA-256 on a chunk's first receipt, a keyed GMAC tag on every later one, and
// bytes that differ from the verified ones refused on either path (a re-read from a tampered
// file, a re-fetch from a server that sends other bytes the second time).
#include "base/error.h"
#include "base/sha256.h"
#include "client/chunkverifier.h"
#include "client/localchunksource.h"
#include "client/receiptverifier.h"
#include "client/weightclient.h"
#include "clienttestdata.h"
#include "hostileweightserver.h"
#include "serveprocess.h"
#include "testsupport.h"

#include <QTemporaryDir>
#include <QRandomGenerator>
#include <QtTest>

using namespace surfing;
using namespace surfing::test;

class TestReceiptVerifier : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void init() { ReceiptVerifier::instance().forget(); }
    void secondReceiptIsCheckedWithTheKeyedTag();
    void changedBytesFailTheKeyedCheck();
    void sha256PolicyHashesEveryReceipt();
    void keysDifferBetweenVerifiers();
    void tamperedFileIsRefusedOnReRead();
    void serverSendingOtherBytesOnReFetchIsRefused();
    void blockCheckFollowsTheVerifiedBytes();
    void ghashEngineGivesOpenSslsGmac();
    void reFetchIsTaggedAsItArrives();

private:
    const ManifestChunk &largest() const;

    QTemporaryDir m_tmp;
    QString m_plain;
    ChunkManifest m_manifest;
};

void TestReceiptVerifier::initTestCase()
{
    if (sharedModel(QStringLiteral("bert-random")).isEmpty())
        QSKIP("../shared/models/bert-random is not available");
    m_plain = m_tmp.filePath(QStringLiteral("plain"));
    QVERIFY(chunkSharedModel(QStringLiteral("bert-random"), m_plain));
    m_manifest = ChunkManifest::load(m_plain);
}

const ManifestChunk &TestReceiptVerifier::largest() const
{
    const ManifestChunk *big = &m_manifest.chunks.first();
    for (const ManifestChunk &c : m_manifest.chunks)
        if (c.storedBytes > big->storedBytes)
            big = &c;
    return *big;
}

void TestReceiptVerifier::secondReceiptIsCheckedWithTheKeyedTag()
{
    ReceiptVerifier verifier;
    const QByteArray bytes = readFile(m_plain + QLatin1Char('/') + largest().file);
    QVERIFY(!verifier.matchesEarlierReceipt(bytes, largest().sha256)); // nothing remembered yet
    QVERIFY(verifier.verify(bytes, largest().sha256));
    QCOMPARE(verifier.stats().sha256Bytes, bytes.size());
    QVERIFY(verifier.matchesEarlierReceipt(QByteArray(bytes), largest().sha256));
    QCOMPARE(verifier.stats().keyedBytes, bytes.size());
    QCOMPARE(verifier.stats().sha256Bytes, bytes.size()); // no second SHA-256
}

void TestReceiptVerifier::changedBytesFailTheKeyedCheck()
{
    ReceiptVerifier verifier;
    QByteArray bytes = readFile(m_plain + QLatin1Char('/') + largest().file);
    QVERIFY(verifier.verify(bytes, largest().sha256));
    for (const qsizetype at : {qsizetype(0), bytes.size() / 2, bytes.size() - 1}) {
        QByteArray changed = bytes;
        changed[at] = char(changed[at] ^ 0x80);
        QVERIFY2(!verifier.matchesEarlierReceipt(changed, largest().sha256), qPrintable(QString::number(at)));
    }
    // Same bytes plus one more (a length the tag did not cover) or one fewer.
    QVERIFY(!verifier.matchesEarlierReceipt(bytes + '\0', largest().sha256));
    QVERIFY(!verifier.matchesEarlierReceipt(bytes.chopped(1), largest().sha256));
    // A wrong SHA-256 claim is never remembered: those bytes never pass later either.
    QByteArray other = bytes;
    other[10] = char(other[10] ^ 1);
    QVERIFY(!verifier.verify(other, largest().sha256));
    QVERIFY(!verifier.matchesEarlierReceipt(other, largest().sha256));
}

void TestReceiptVerifier::sha256PolicyHashesEveryReceipt()
{
    ReceiptVerifier verifier(ReceiptVerifier::Policy::Sha256Always);
    const QByteArray bytes = readFile(m_plain + QLatin1Char('/') + largest().file);
    QVERIFY(verifier.verify(bytes, largest().sha256));
    QVERIFY(!verifier.matchesEarlierReceipt(bytes, largest().sha256));
    QVERIFY(verifier.verify(bytes, largest().sha256));
    QCOMPARE(verifier.stats().sha256Bytes, 2 * bytes.size());
    QCOMPARE(verifier.stats().keyedBytes, 0);
}

// Two verifiers (two processes) draw different keys: a tag says nothing about another's.
void TestReceiptVerifier::keysDifferBetweenVerifiers()
{
    ReceiptVerifier a, b;
    const QByteArray bytes = readFile(m_plain + QLatin1Char('/') + largest().file);
    QVERIFY(a.verify(bytes, largest().sha256));
    QVERIFY(!b.matchesEarlierReceipt(bytes, largest().sha256));
}

// Through the real local source: one chunk of cache, so the chunk is read again after another
// pushed it out. The re-read of an unchanged file passes on the keyed tag; after the file is
// changed on disk, the re-read is refused by name.
void TestReceiptVerifier::tamperedFileIsRefusedOnReRead()
{
    QTemporaryDir dir;
    QVERIFY(copyDir(m_plain, dir.path()));
    const ManifestChunk &big = largest();
    const QString other = m_manifest.chunks.first().name == big.name ? m_manifest.chunks.last().name
                                                                     : m_manifest.chunks.first().name;
    LocalChunkSource source(dir.path(), 0, 1, CachePolicyKind::Lru);
    const ReceiptVerifier::Stats before = ReceiptVerifier::instance().stats();
    QVERIFY(source.acquire(big.name));
    QVERIFY(source.acquire(other));
    QVERIFY(!source.cache().contains(big.name));
    QVERIFY(source.acquire(big.name)); // read again, checked with the tag
    const ReceiptVerifier::Stats after = ReceiptVerifier::instance().stats();
    QCOMPARE(after.keyedBytes - before.keyedBytes, big.storedBytes);
    QVERIFY(source.acquire(other));
    QVERIFY(!source.cache().contains(big.name));
    QVERIFY(corruptFile(dir.filePath(big.file)));
    try {
        source.acquire(big.name);
        QFAIL("a changed chunk was accepted on its second read");
    } catch (const Error &e) {
        QVERIFY2(e.message().contains(big.name) && e.message().contains(QLatin1String("SHA-256")), qPrintable(e.message()));
    }
}

// A server that sends the right bytes first and other bytes (same size, the same header) when
// the chunk is asked for again: the second delivery is refused as a hash mismatch.
void TestReceiptVerifier::serverSendingOtherBytesOnReFetchIsRefused()
{
    HostileWeightServer server(m_plain);
    const ManifestChunk &big = largest();
    int sent = 0;
    server.adjustBytes = [&sent](const QString &, QByteArray &bytes) {
        if (++sent == 2)
            bytes[bytes.size() / 3] = char(bytes[bytes.size() / 3] ^ 0x01);
    };
    WeightClientOptions o;
    o.url = server.url();
    o.requestTimeoutMs = kWaitMs;
    o.connectTimeoutMs = kWaitMs;
    WeightClient client(o);
    QStringList codes;
    int received = 0;
    QObject::connect(&client, &WeightClient::chunkReceived, &client, [&received] { ++received; });
    QObject::connect(&client, &WeightClient::requestFailed, &client,
                     [&codes](quint32, const QString &, const QString &code, const QString &) { codes << code; });
    client.open();
    client.fetchChunk(big.name);
    QVERIFY(server.serveUntil([&] { return received == 1 || !codes.isEmpty(); }, kWaitMs));
    QCOMPARE(received, 1);
    const qint64 keyedBefore = ReceiptVerifier::instance().stats().keyedBytes;
    client.fetchChunk(big.name);
    QVERIFY(server.serveUntil([&] { return !codes.isEmpty() || received == 2; }, kWaitMs));
    QCOMPARE(codes, QStringList{QStringLiteral("hash_mismatch")});
    QCOMPARE(received, 1);
    // The block check saw the difference first (it vouched only for the blocks before it);
    // SHA-256 then named it.
    const qint64 changedBlock = big.storedBytes / 3 / ReceiptVerifier::kBlockBytes;
    QCOMPARE(ReceiptVerifier::instance().stats().keyedBytes - keyedBefore, changedBlock * ReceiptVerifier::kBlockBytes);
}

// A receipt checked block by block as it lands, in pieces of any size: what it vouches for grows a
// whole block at a time, never past the bytes fed, and covers the receipt once its last byte
// matched. One changed byte stops it at the block before; one byte fewer or more never passes.
void TestReceiptVerifier::blockCheckFollowsTheVerifiedBytes()
{
    constexpr qint64 kBlock = ReceiptVerifier::kBlockBytes;
    QRandomGenerator random(7);
    QByteArray bytes(5 * kBlock + 1234, Qt::Uninitialized);
    for (char &b : bytes)
        b = char(random.bounded(256));
    const QByteArray sha = Sha256::hashHex(bytes);
    ReceiptVerifier verifier;
    QVERIFY(!verifier.startBlockCheck(sha, bytes.size())); // nothing remembered yet: SHA-256 decides
    QVERIFY(verifier.verify(bytes, sha));
    // Feeds `b`; returns what the check vouched for after each piece, and whether all matched.
    const auto feed = [&](const QByteArray &b, QList<qint64> *afterPiece, qsizetype *fed) {
        const std::unique_ptr<ReceiptVerifier::BlockCheck> check = verifier.startBlockCheck(sha, b.size());
        const qsizetype pieces[] = {1, 15, 17, 4096, 100003, qsizetype(kBlock), 3 * qsizetype(kBlock)};
        *fed = 0;
        for (int i = 0; *fed < b.size(); ++i) {
            const qsizetype n = qMin(pieces[i % std::size(pieces)], b.size() - *fed);
            afterPiece->append(check->add(QByteArrayView(b).sliced(*fed, n)));
            *fed += n;
            if (afterPiece->last() > *fed)
                return false;
        }
        return verifier.finishBlockCheck(*check);
    };
    QList<qint64> checked;
    qsizetype fed = 0;
    QVERIFY(feed(bytes, &checked, &fed));
    for (const qint64 c : checked)
        QVERIFY2(c % kBlock == 0 || c == bytes.size(), qPrintable(QString::number(c)));
    QCOMPARE(checked.last(), bytes.size());
    QCOMPARE(verifier.stats().streamedBytes, bytes.size());
    for (const qsizetype at : {qsizetype(0), qsizetype(kBlock) + 20, bytes.size() - 1}) {
        QByteArray changed = bytes;
        changed[at] = char(changed[at] ^ 0x04);
        checked.clear();
        QVERIFY2(!feed(changed, &checked, &fed), qPrintable(QString::number(at)));
        QCOMPARE(checked.last(), at / kBlock * kBlock);
    }
    checked.clear();
    QVERIFY(!feed(bytes.chopped(1), &checked, &fed));
    QVERIFY(!feed(bytes + 'x', &checked, &fed));
    ReceiptVerifier sha256Only(ReceiptVerifier::Policy::Sha256Always);
    QVERIFY(sha256Only.verify(bytes, sha));
    QVERIFY(!sha256Only.startBlockCheck(sha, bytes.size()));
}

// The VPCLMULQDQ GHASH (base/ghash.h) and OpenSSL's AES-GCM give the same tag for every length
// around the block and 32-block step boundaries, fed whole or in uneven pieces; and the known
// answer of the GCM specification's test case 1 (key and IV zero, nothing authenticated).
void TestReceiptVerifier::ghashEngineGivesOpenSslsGmac()
{
    using Engine = ReceiptVerifier::Tagger::Engine;
    const auto tagOf = [](const ReceiptVerifier::Key &key, Engine engine, const QByteArray &bytes, qsizetype piece) {
        ReceiptVerifier::Tagger tagger(key, engine);
        for (qsizetype at = 0; at < bytes.size(); at += piece)
            tagger.add(QByteArrayView(bytes).sliced(at, qMin(piece, bytes.size() - at)));
        return tagger.finish().toHex();
    };
    const ReceiptVerifier::Key zero = ReceiptVerifier::makeKey(QByteArray(16, '\0'));
    QCOMPARE(tagOf(zero, Engine::OpenSsl, {}, 1), QByteArray("58e2fccefa7e3061367f1d57a4e7455a"));
    if (!Ghash::isAvailable())
        QSKIP("this CPU has no VPCLMULQDQ with AVX-512: OpenSSL's GMAC is the only engine");
    QCOMPARE(ReceiptVerifier::Tagger::fastestEngine(), Engine::Ghash);
    QCOMPARE(tagOf(zero, Engine::Ghash, {}, 1), QByteArray("58e2fccefa7e3061367f1d57a4e7455a"));
    QRandomGenerator random(13);
    for (int k = 0; k < 3; ++k) {
        const ReceiptVerifier::Key key = k == 0 ? zero : ReceiptVerifier::randomKey();
        for (const qsizetype size : {1, 15, 16, 17, 31, 32, 33, 255, 511, 512, 513, 1023, 1024, 1025, 1536 + 5, 4096 * 16 + 7, (1 << 20) + 3}) {
            QByteArray bytes(size, Qt::Uninitialized);
            for (char &b : bytes)
                b = char(random.bounded(256));
            const QByteArray expected = tagOf(key, Engine::OpenSsl, bytes, bytes.size());
            for (const qsizetype piece : {bytes.size(), qsizetype(1), qsizetype(7), qsizetype(16), qsizetype(500), qsizetype(262144)})
                QVERIFY2(tagOf(key, Engine::Ghash, bytes, piece) == expected, qPrintable(QStringLiteral("%1 bytes in pieces of %2").arg(size).arg(piece)));
            bytes[size / 2] = char(bytes[size / 2] ^ 0x10);
            QVERIFY(tagOf(key, Engine::Ghash, bytes, 500) != expected);
        }
    }
}

// Through a real server and client: the second fetch of a chunk is checked block by block as it
// arrives, and no byte of it goes through SHA-256 again.
void TestReceiptVerifier::reFetchIsTaggedAsItArrives()
{
    ServeProcess serve;
    QVERIFY(serve.start({m_plain}));
    const ManifestChunk &big = largest();
    WeightClientOptions o;
    o.url = serve.url();
    o.requestTimeoutMs = kWaitMs;
    o.connectTimeoutMs = kWaitMs;
    WeightClient client(o);
    int received = 0, failed = 0;
    QObject::connect(&client, &WeightClient::chunkReceived, &client, [&received] { ++received; });
    QObject::connect(&client, &WeightClient::requestFailed, &client, [&failed] { ++failed; });
    client.open();
    client.fetchChunk(big.name);
    QTRY_VERIFY_WITH_TIMEOUT(received == 1 || failed > 0, kWaitMs);
    QCOMPARE(received, 1);
    const ReceiptVerifier::Stats before = ReceiptVerifier::instance().stats();
    client.fetchChunk(big.name);
    QTRY_VERIFY_WITH_TIMEOUT(received == 2 || failed > 0, kWaitMs);
    QCOMPARE(received, 2);
    const ReceiptVerifier::Stats after = ReceiptVerifier::instance().stats();
    QCOMPARE(after.streamedBytes - before.streamedBytes, big.storedBytes);
    QCOMPARE(after.sha256Bytes - before.sha256Bytes, 0);
}

QTEST_GUILESS_MAIN(TestReceiptVerifier)
#include "tst_receiptverifier.moc"
