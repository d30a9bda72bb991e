// ChunkSender against a real WebSocket over loopback, in process: what it charges the server-wide
// bandwidth bucket (--limit-mbps) for each piece.
#include "server/chunksender.h"
#include "server/tokenbucket.h"

#include <QSignalSpy>
#include <QWebSocket>
#include <QWebSocketServer>
#include <QtTest>

using namespace surfing;

class TestChunkSender : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void piecesAreChargedTheirOwnSize();
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
    QWebSocket *socket = server.nextPendingConnection();
    QTRY_COMPARE(client.state(), QAbstractSocket::ConnectedState);

    constexpr int kPiece = 1024;
    constexpr double kBurst = 1 << 20;
    TokenBucket bucket(1.0, kBurst); // one byte a second: nothing refills during the test
    ChunkSender sender(socket, nullptr, kPiece, &bucket);
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

QTEST_GUILESS_MAIN(TestChunkSender)
#include "tst_chunksender.moc"
