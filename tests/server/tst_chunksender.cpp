// ChunkSender against a real WebSocket over loopback, in process: what it charges the server-wide
// bandwidth bucket (--limit-mbps) for each piece, and the order it sends a connection's gets in.
#include "protocol/piece.h"
#include "server/chunksender.h"
#include "server/tokenbucket.h"

#include <QSignalSpy>
#include <QWebSocket>
#include <QWebSocketServer>
#include <QtTest>

#include <memory>

using namespace surfing;

class TestChunkSender : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void piecesAreChargedTheirOwnSize();
    void theGetWithFewestPiecesLeftGoesFirst();
};

// A 72-byte file and a chunk one byte longer than a piece cost the bucket their own bytes, not
// a full piece each: charged 256 KiB per piece, a model's small files took two seconds each at
// --limit-mbps 1 (stories260K: 25 s instead of 7).
void TestChunkSender::piecesAreChargedTheirOwnSize()
{
    QWebSocketServer server(QStringLiteral("test"), QWebSocketServer::NonSecureMode);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QWebSocket client;
    QSignalSpy received(&client, &QWebSocket::binaryMessageReceived);
    client.open(QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(server.serverPort())));
    QTRY_VERIFY(server.hasPendingConnections());
    // Ours to delete (no parent); after the sender below, which holds it.
    const std::unique_ptr<QWebSocket> socket(server.nextPendingConnection());
    QTRY_COMPARE(client.state(), QAbstractSocket::ConnectedState);

    constexpr int kPiece = 1024;
    constexpr double kBurst = 1 << 20;
    TokenBucket bucket(1.0, kBurst); // one byte a second: nothing refills during the test
    ChunkSender sender(socket.get(), nullptr, kPiece, &bucket);
    QSignalSpy finished(&sender, &ChunkSender::transferFinished);
    const double full = bucket.tokens(TokenBucket::steadyNowMs());

    protocol::ChunkHeader small;
    small.id = 1;
    small.size = 72;
    small.pieces = 1;
    sender.start(small, QByteArray(72, 's'));
    QTRY_COMPARE(finished.count(), 1);
    QCOMPARE(qRound(full - bucket.tokens(TokenBucket::steadyNowMs())), 72);

    protocol::ChunkHeader twoPieces;
    twoPieces.id = 2;
    twoPieces.size = kPiece + 1;
    twoPieces.pieces = 2;
    sender.start(twoPieces, QByteArray(kPiece + 1, 't'));
    QTRY_COMPARE(finished.count(), 2);
    QCOMPARE(qRound(full - bucket.tokens(TokenBucket::steadyNowMs())), 72 + kPiece + 1);
    QTRY_COMPARE(received.count(), 3); // every piece arrived
    QCOMPARE(received.at(2).at(0).toByteArray().size(), protocol::kPieceHeaderBytes + 1);
}

// Gets are sent one after the other in the order they came, not round-robin: the chunk a client
// waits for arrives at the full rate, ahead of the ones it prefetched. A small get still goes
// ahead of a large one that has more left to send.
void TestChunkSender::theGetWithFewestPiecesLeftGoesFirst()
{
    QWebSocketServer server(QStringLiteral("test"), QWebSocketServer::NonSecureMode);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QWebSocket client;
    QList<quint32> order; // request id of every piece, as they arrive
    connect(&client, &QWebSocket::binaryMessageReceived, this, [&order](const QByteArray &message) {
        if (const auto piece = protocol::parsePiece(message, 1 << 20))
            order << piece->requestId;
    });
    client.open(QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(server.serverPort())));
    QTRY_VERIFY(server.hasPendingConnections());
    // Ours to delete (no parent); after the sender below, which holds it.
    const std::unique_ptr<QWebSocket> socket(server.nextPendingConnection());
    QTRY_COMPARE(client.state(), QAbstractSocket::ConnectedState);

    constexpr int kPiece = 1 << 20; // two pieces fill the sender's 2 MiB of queued bytes
    ChunkSender sender(socket.get(), nullptr, kPiece, nullptr);
    QSignalSpy finished(&sender, &ChunkSender::transferFinished);
    const auto start = [&sender](quint32 id, int pieces, qint64 size) {
        protocol::ChunkHeader header;
        header.id = id;
        header.size = size;
        header.pieces = quint32(pieces);
        sender.start(header, QByteArray(size, char('a' + id)));
    };
    start(1, 3, 3 * kPiece); // two of its pieces go at once, one is left
    start(2, 3, 3 * kPiece); // the prefetched chunk behind it
    start(3, 1, 100);        // a small file
    QTRY_COMPARE(finished.count(), 3);
    QTRY_COMPARE(order.size(), 7);
    QCOMPARE(order, (QList<quint32>{1, 1, 1, 3, 2, 2, 2}));
}

QTEST_GUILESS_MAIN(TestChunkSender)
#include "tst_chunksender.moc"
