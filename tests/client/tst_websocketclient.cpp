// WebSocketClient against a scripted server that writes exact bytes (handshakes and frames,
// good and hostile, whole or a byte at a time) and against Qt's own QWebSocketServer.
#include "client/websocketclient.h"
#include "protocol/piece.h"
#include "scriptedwsserver.h"

#include <QRandomGenerator>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>
#include <QWebSocket>
#include <QWebSocketServer>
#include <QtEndian>
#include <memory>

using namespace surfing;
using namespace surfing::test;
using protocol::FrameType;

// A generous bound on waits that end in an event (never a timing check).
constexpr int kLongWaitMs = 60000;


class TestWebSocketClient : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void handshakeThenTextBothWays()
    {
        ScriptedServer server;
        WebSocketClient client;
        QSignalSpy texts(&client, &WebSocketClient::textMessageReceived);
        QVERIFY(server.accept(client));
        QCOMPARE(client.state(), QAbstractSocket::ConnectedState);
        QVERIFY(server.request().startsWith("GET /model HTTP/1.1\r\n"));
        QVERIFY(server.request().contains("Host: 127.0.0.1:"));

        server.write(frame(FrameType::Text, "welcome"));
        QVERIFY(texts.wait());
        QCOMPARE(texts.at(0).at(0).toByteArray(), QByteArray("welcome"));

        client.sendTextMessage(QByteArray(300, 'h'));
        int opcode = 0;
        QByteArray payload;
        bool masked = false;
        QVERIFY(server.readFrame(&opcode, &payload, &masked));
        QCOMPARE(opcode, 1);
        QVERIFY(masked); // RFC 6455: a client masks every frame
        QCOMPARE(payload, QByteArray(300, 'h'));
    }

    // The piece header is offered to the sink; the payload lands where the sink says, however
    // the bytes are cut up on the way.
    void sinkGetsPayloadInPlace()
    {
        ScriptedServer server;
        WebSocketClient client;
        QByteArray target(100000, '\0');
        QByteArray seenPrefix;
        int delivered = 0;
        WebSocketClient::BinarySink sink;
        sink.prefixBytes = 8;
        sink.destination = [&](QByteArrayView prefix, qint64 rest) -> char * {
            seenPrefix = prefix.toByteArray();
            return rest == target.size() ? target.data() : nullptr;
        };
        sink.delivered = [&](QByteArrayView, qint64 rest) { delivered += int(rest); };
        client.setBinarySink(sink);
        QSignalSpy whole(&client, &WebSocketClient::binaryMessageReceived);
        QVERIFY(server.accept(client));

        QByteArray payload(100000, Qt::Uninitialized);
        for (int i = 0; i < payload.size(); ++i)
            payload[i] = char(i * 7 + i / 256);
        const QByteArray bytes = frame(FrameType::Binary, "PREFIX78" + payload);
        for (int i = 0; i < 20; ++i) { // the header and prefix a byte at a time
            server.write(bytes.mid(i, 1));
            QTest::qWait(1);
        }
        server.write(bytes.mid(20, 30000));
        QTest::qWait(5);
        server.write(bytes.mid(30020));
        QTRY_COMPARE(delivered, payload.size());
        QCOMPARE(seenPrefix, QByteArray("PREFIX78"));
        QCOMPARE(target, payload);
        QCOMPARE(whole.count(), 0);

        // Declined (wrong size here): the message comes whole, prefix included.
        server.write(frame(FrameType::Binary, "PREFIX78abc"));
        QVERIFY(whole.wait());
        QCOMPARE(whole.at(0).at(0).toByteArray(), QByteArray("PREFIX78abc"));
        // Shorter than the prefix: whole, without asking the sink.
        seenPrefix.clear();
        server.write(frame(FrameType::Binary, "abc"));
        QVERIFY(whole.wait());
        QCOMPARE(whole.at(1).at(0).toByteArray(), QByteArray("abc"));
        QVERIFY(seenPrefix.isEmpty());
    }

    // Frames written in one burst: a read takes a payload and the bytes after it (the next
    // headers, prefixes, whole small frames, the start of the next payload). Every piece still
    // lands in its place and in order, and the text and the close behind them are not left
    // unread when no more bytes come.
    void framesInOneBurstAllArrive()
    {
        ScriptedServer server;
        WebSocketClient client;
        const QList<int> sizes = {3, 200, 250, 70000, 1, 255, 256, 257, 120000, 9, 4096};
        QList<QByteArray> targets;
        for (int size : sizes)
            targets.append(QByteArray(size, '\0'));
        QList<int> order;
        WebSocketClient::BinarySink sink;
        sink.prefixBytes = 8;
        sink.destination = [&](QByteArrayView prefix, qint64 rest) -> char * {
            const int i = prefix.toByteArray().toInt();
            return i >= 0 && i < targets.size() && rest == targets[i].size() ? targets[i].data() : nullptr;
        };
        sink.delivered = [&](QByteArrayView prefix, qint64) { order.append(prefix.toByteArray().toInt()); };
        client.setBinarySink(sink);
        QSignalSpy texts(&client, &WebSocketClient::textMessageReceived);
        QSignalSpy ended(&client, &WebSocketClient::disconnected);
        QVERIFY(server.accept(client));

        QByteArray burst;
        QList<QByteArray> payloads;
        for (int i = 0; i < sizes.size(); ++i) {
            QByteArray payload(sizes[i], Qt::Uninitialized);
            for (int j = 0; j < payload.size(); ++j)
                payload[j] = char(j * 13 + i);
            payloads.append(payload);
            burst += frame(FrameType::Binary, QByteArray::number(i).rightJustified(8, '0') + payload);
        }
        burst += frame(FrameType::Text, "done") + frame(FrameType::Close, closePayload(1000, "bye"));
        server.write(burst);
        QVERIFY(ended.count() == 1 || ended.wait(kLongWaitMs));
        QVERIFY2(client.errorString().contains(QLatin1String("bye")), qPrintable(client.errorString()));
        QCOMPARE(order.size(), sizes.size());
        for (int i = 0; i < sizes.size(); ++i) {
            QCOMPARE(order[i], i);
            QCOMPARE(targets[i], payloads[i]);
        }
        QCOMPARE(texts.count(), 1);
        QCOMPARE(texts.at(0).at(0).toByteArray(), QByteArray("done"));
        int opcode = 0;
        QByteArray payload;
        bool masked = false;
        QVERIFY(server.readFrame(&opcode, &payload, &masked)); // the close, answered
        QCOMPARE(opcode, 0x8);
    }

    // A message in three frames with a ping between them: the pong goes back at once, the
    // message comes whole.
    void fragmentsAndPing()
    {
        ScriptedServer server;
        WebSocketClient client;
        QSignalSpy texts(&client, &WebSocketClient::textMessageReceived);
        QVERIFY(server.accept(client));
        server.write(frame(FrameType::Text, "one ", false) + frame(FrameType::Ping, "are you there")
                     + frame(FrameType::Continuation, "two ", false) + frame(FrameType::Continuation, "three"));
        int opcode = 0;
        QByteArray payload;
        bool masked = false;
        QVERIFY(server.readFrame(&opcode, &payload, &masked));
        QCOMPARE(opcode, 0xA);
        QCOMPARE(payload, QByteArray("are you there"));
        QTRY_COMPARE(texts.count(), 1);
        QCOMPARE(texts.at(0).at(0).toByteArray(), QByteArray("one two three"));
    }

    void closeFromServerIsAnswered()
    {
        ScriptedServer server;
        WebSocketClient client;
        QSignalSpy ended(&client, &WebSocketClient::disconnected);
        QVERIFY(server.accept(client));
        server.write(frame(FrameType::Close, closePayload(4001, "try again later")));
        QVERIFY(ended.wait());
        QCOMPARE(ended.count(), 1);
        QCOMPARE(client.state(), QAbstractSocket::UnconnectedState);
        QVERIFY2(client.errorString().contains(QLatin1String("4001")) && client.errorString().contains(QLatin1String("try again later")),
                 qPrintable(client.errorString()));
        int opcode = 0;
        QByteArray payload;
        bool masked = false;
        QVERIFY(server.readFrame(&opcode, &payload, &masked));
        QCOMPARE(opcode, 0x8);
        QCOMPARE(payload, closePayload(4001, {}));
    }

    void serverVanishes()
    {
        ScriptedServer server;
        WebSocketClient client;
        QSignalSpy ended(&client, &WebSocketClient::disconnected);
        QVERIFY(server.accept(client));
        server.write(frame(FrameType::Binary, "half a mess").left(6));
        server.peer()->abort();
        QVERIFY(ended.wait());
        QCOMPARE(ended.count(), 1);
        QVERIFY(!client.errorString().isEmpty());
    }

    void refusedConnectionEnds()
    {
        quint16 port = 0;
        {
            QTcpServer probe;
            QVERIFY(probe.listen(QHostAddress::LocalHost));
            port = probe.serverPort();
        }
        WebSocketClient client;
        QSignalSpy ended(&client, &WebSocketClient::disconnected);
        client.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(port)));
        QVERIFY(ended.wait());
        QVERIFY2(client.errorString().contains(QLatin1String("refused"), Qt::CaseInsensitive), qPrintable(client.errorString()));
        QCOMPARE(int(client.failure()), int(WebSocketClient::Failure::Network));
    }

    // Each hostile answer ends the connection with an error that says what was wrong.
    void hostileServers_data()
    {
        QTest::addColumn<QByteArray>("handshake"); // empty: a correct one
        QTest::addColumn<QByteArray>("frames");
        QTest::addColumn<QString>("error");
        const QByteArray good;
        QTest::newRow("refused upgrade") << QByteArray("HTTP/1.1 403 Forbidden\r\n\r\n") << QByteArray() << "403 Forbidden";
        QTest::newRow("busy") << QByteArray("HTTP/1.1 503 Service Unavailable\r\n\r\n") << QByteArray() << "503";
        QTest::newRow("wrong accept") << QByteArray("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: bm9wZQ==\r\n\r\n")
                                      << QByteArray() << "Sec-WebSocket-Accept";
        QTest::newRow("endless handshake") << ("HTTP/1.1 101 OK\r\nX: " + QByteArray(20000, 'x')) << QByteArray() << "longer than";
        QTest::newRow("masked frame") << good << QByteArray("\x81\x82\1\2\3\4ab", 8) << "masked";
        QTest::newRow("reserved bits") << good << QByteArray("\xc1\x01x", 3) << "reserved bits";
        QTest::newRow("reserved opcode") << good << QByteArray("\x83\x01x", 3) << "reserved opcode";
        QTest::newRow("stray continuation") << good << frame(FrameType::Continuation, "x") << "continuation";
        QTest::newRow("message inside message") << good << frame(FrameType::Text, "a", false) + frame(FrameType::Text, "b") << "inside";
        QTest::newRow("long control frame") << good << QByteArray("\x89\x7e\x00\x80", 4) + QByteArray(128, 'p') << "control frame";
        QTest::newRow("fragmented control frame") << good << QByteArray("\x09\x01p", 3) << "control frame";
        QTest::newRow("top bit length") << good << QByteArray("\x82\x7f\x80\0\0\0\0\0\0\0", 10) << "top bit";
        QTest::newRow("too large") << good << frame(FrameType::Binary, QByteArray(5000, 'b')) << "larger than 4096";
        QTest::newRow("too large in pieces") << good << frame(FrameType::Binary, QByteArray(3000, 'b'), false) + frame(FrameType::Continuation, QByteArray(3000, 'b'))
                                             << "larger than 4096";
    }

    void hostileServers()
    {
        QFETCH(QByteArray, handshake);
        QFETCH(QByteArray, frames);
        QFETCH(QString, error);
        ScriptedServer server;
        WebSocketClient client;
        client.setMaxIncomingMessageBytes(4096);
        QSignalSpy connected(&client, &WebSocketClient::connected);
        QSignalSpy texts(&client, &WebSocketClient::textMessageReceived);
        QSignalSpy ended(&client, &WebSocketClient::disconnected);
        client.open(server.url());
        QVERIFY(server.handshake(handshake));
        server.write(frames);
        QVERIFY(ended.wait());
        QCOMPARE(ended.count(), 1);
        QCOMPARE(texts.count(), 0);
        QCOMPARE(connected.count(), handshake.isEmpty() ? 1 : 0);
        QVERIFY2(client.errorString().contains(error), qPrintable(client.errorString()));
        // Whether trying again may help: not when the server refused or broke the protocol,
        // maybe when it was busy.
        const auto expected = QByteArray(QTest::currentDataTag()) == "busy" ? WebSocketClient::Failure::Network
                              : handshake.isEmpty()                        ? WebSocketClient::Failure::Protocol
                                                                           : WebSocketClient::Failure::Handshake;
        QCOMPARE(int(client.failure()), int(expected));
    }

    // Text (a server's control messages) has a limit of its own, below that of binary pieces.
    void textHasItsOwnLimit()
    {
        ScriptedServer server;
        WebSocketClient client;
        client.setMaxIncomingMessageBytes(4096);
        client.setMaxIncomingTextBytes(100);
        QSignalSpy binary(&client, &WebSocketClient::binaryMessageReceived);
        QSignalSpy ended(&client, &WebSocketClient::disconnected);
        QVERIFY(server.accept(client));
        server.write(frame(FrameType::Binary, QByteArray(1000, 'b')));
        QVERIFY(binary.wait());
        server.write(frame(FrameType::Text, QByteArray(60, 't'), false) + frame(FrameType::Continuation, QByteArray(60, 't')));
        QVERIFY(ended.wait());
        QVERIFY2(client.errorString().contains(QLatin1String("text message larger than 100 bytes")), qPrintable(client.errorString()));
        QCOMPARE(int(client.failure()), int(WebSocketClient::Failure::Protocol));
    }

    // A server that accepts the connection and never answers: the handshake timeout ends the
    // attempt, naming the step that got no answer. wss:// to a plain server looks like this.
    void handshakeTimeoutNamesTheStep_data()
    {
        QTest::addColumn<QString>("scheme");
        QTest::addColumn<QString>("error");
        QTest::newRow("TLS") << "wss" << "did not answer the TLS handshake within 0.2 s; is it a ws:// server rather than wss://?";
        QTest::newRow("upgrade") << "ws" << "did not answer the WebSocket upgrade within 0.2 s";
    }

    void handshakeTimeoutNamesTheStep()
    {
        QFETCH(QString, scheme);
        QFETCH(QString, error);
        QTcpServer silent;
        QVERIFY(silent.listen(QHostAddress::LocalHost));
        WebSocketClient client;
        client.setHandshakeTimeout(200);
        QSignalSpy ended(&client, &WebSocketClient::disconnected);
        client.open(QUrl(QStringLiteral("%1://127.0.0.1:%2/").arg(scheme).arg(silent.serverPort())));
        QVERIFY(ended.wait(kLongWaitMs));
        QVERIFY2(client.errorString().contains(error), qPrintable(client.errorString()));
        QCOMPARE(int(client.failure()), int(WebSocketClient::Failure::Handshake));
    }

    // The wrong scheme the other way round, and a plain server that answers a TLS hello with
    // HTTP: said at once, with what to do.
    void wrongSchemeIsNamed_data()
    {
        QTest::addColumn<QString>("scheme");
        QTest::addColumn<QByteArray>("answer"); // to whatever the client sends first; then the server closes
        QTest::addColumn<QString>("error");
        QTest::newRow("ws:// to TLS, alert") << "ws" << QByteArray("\x15\x03\x03\x00\x02\x02\x46", 7) << "use wss:// instead of ws://";
        QTest::newRow("ws:// to TLS, dropped") << "ws" << QByteArray() << "is it a wss:// (TLS) server rather than ws://?";
        QTest::newRow("wss:// to HTTP") << "wss" << QByteArray("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
                                        << "is it a ws:// server rather than wss://?";
    }

    void wrongSchemeIsNamed()
    {
        QFETCH(QString, scheme);
        QFETCH(QByteArray, answer);
        QFETCH(QString, error);
        QTcpServer server;
        QVERIFY(server.listen(QHostAddress::LocalHost));
        connect(&server, &QTcpServer::newConnection, this, [&server, answer] {
            QTcpSocket *peer = server.nextPendingConnection();
            connect(peer, &QTcpSocket::readyRead, peer, [peer, answer] {
                peer->readAll();
                peer->write(answer);
                peer->disconnectFromHost();
            });
        });
        WebSocketClient client;
        client.setHandshakeTimeout(kLongWaitMs);
        QSignalSpy ended(&client, &WebSocketClient::disconnected);
        client.open(QUrl(QStringLiteral("%1://127.0.0.1:%2/").arg(scheme).arg(server.serverPort())));
        QVERIFY(ended.wait(kLongWaitMs));
        QVERIFY2(client.errorString().contains(error), qPrintable(client.errorString()));
        QCOMPARE(int(client.failure()), int(WebSocketClient::Failure::Handshake));
    }

    // Random bytes after a good handshake, some starting as a plausible frame: whatever comes,
    // the client ends cleanly or keeps going, and never reads past a message limit.
    void randomBytesNeverCrash()
    {
        QRandomGenerator random(20261123);
        for (int round = 0; round < 60; ++round) {
            ScriptedServer server;
            WebSocketClient client;
            client.setMaxIncomingMessageBytes(1 << 16);
            QByteArray target(1 << 16, '\0');
            WebSocketClient::BinarySink sink;
            sink.prefixBytes = 8;
            sink.destination = [&](QByteArrayView, qint64 rest) { return rest <= target.size() ? target.data() : nullptr; };
            sink.delivered = [](QByteArrayView, qint64) {};
            client.setBinarySink(sink);
            QSignalSpy ended(&client, &WebSocketClient::disconnected);
            QVERIFY(server.accept(client));
            QByteArray bytes(int(random.bounded(1, 4000)), Qt::Uninitialized);
            for (char &c : bytes)
                c = char(random.bounded(256));
            if (round % 2 == 0) // a valid-looking first byte
                bytes[0] = char(0x80 | int(random.bounded(3)));
            server.write(bytes);
            QTest::qWait(5);
            server.peer()->abort();
            if (ended.count() == 0)
                QVERIFY(ended.wait());
            QCOMPARE(ended.count(), 1);
        }
    }

    // Against Qt's server, which fragments messages larger than its outgoing frame size.
    void interoperatesWithQWebSocketServer()
    {
        QWebSocketServer server(QStringLiteral("test"), QWebSocketServer::NonSecureMode);
        QVERIFY(server.listen(QHostAddress::LocalHost));
        QWebSocket *peer = nullptr;
        QByteArray fromClient;
        std::unique_ptr<QWebSocket> ownedPeer; // nextPendingConnection() hands the socket over
        connect(&server, &QWebSocketServer::newConnection, this, [&] {
            ownedPeer.reset(server.nextPendingConnection());
            peer = ownedPeer.get();
            peer->setOutgoingFrameSize(1000);
            connect(peer, &QWebSocket::textMessageReceived, this, [&](const QString &t) { fromClient = t.toUtf8(); });
        });
        WebSocketClient client;
        QSignalSpy connected(&client, &WebSocketClient::connected);
        QSignalSpy binary(&client, &WebSocketClient::binaryMessageReceived);
        QSignalSpy texts(&client, &WebSocketClient::textMessageReceived);
        client.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/m").arg(server.serverPort())));
        QVERIFY(connected.wait());
        QTRY_VERIFY(peer);
        client.sendTextMessage("hello, server");
        QTRY_COMPARE(fromClient, QByteArray("hello, server"));
        const QByteArray big(10000, 'z');
        peer->sendBinaryMessage(big);
        peer->sendTextMessage(QString(3000, QLatin1Char('t')));
        QTRY_COMPARE(texts.count(), 1);
        QCOMPARE(binary.count(), 1);
        QCOMPARE(binary.at(0).at(0).toByteArray(), big);
        QCOMPARE(texts.at(0).at(0).toByteArray(), QByteArray(3000, 't'));
        QSignalSpy peerGone(peer, &QWebSocket::disconnected);
        client.close();
        QVERIFY(peerGone.wait());
        QCOMPARE(peer->closeCode(), QWebSocketProtocol::CloseCodeNormal);
    }
};

QTEST_GUILESS_MAIN(TestWebSocketClient)
#include "tst_websocketclient.moc"
