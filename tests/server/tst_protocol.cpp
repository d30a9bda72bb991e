// Protocol messages: round trips, and every kind of hostile client input refused with
// bad_request (with the request id when it could be read).
#include "protocol/messages.h"
#include "protocol/piece.h"

#include <QJsonDocument>
#include <QtTest>

using namespace surfing::protocol;

class TestProtocol : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void helloRoundTrip()
    {
        Hello h;
        h.client = QStringLiteral("test 1");
        h.token = QStringLiteral("s3cret");
        h.model = QStringLiteral("bert-random");
        const ClientMessage m = parseClientMessage(encodeHello(h));
        QCOMPARE(m.type, ClientMessageType::Hello);
        QCOMPARE(m.hello.protocol, kProtocolVersion);
        QCOMPARE(m.hello.token, h.token);
        QCOMPARE(m.hello.model, h.model);
        QCOMPARE(m.hello.client, h.client);
    }

    void requestRoundTrip_data()
    {
        QTest::addColumn<int>("type");
        QTest::addColumn<QString>("chunk");
        QTest::addColumn<QString>("kind");
        QTest::addColumn<int>("index");
        QTest::newRow("get by name") << int(ClientMessageType::Get) << "layer_3" << "" << -1;
        QTest::newRow("get by kind") << int(ClientMessageType::Get) << "" << "layer" << 3;
        QTest::newRow("get unnumbered") << int(ClientMessageType::Get) << "" << "pooler" << -1;
        QTest::newRow("manifest") << int(ClientMessageType::Manifest) << "" << "" << -1;
        QTest::newRow("cancel") << int(ClientMessageType::Cancel) << "" << "" << -1;
        QTest::newRow("ping") << int(ClientMessageType::Ping) << "" << "" << -1;
        QTest::newRow("stats") << int(ClientMessageType::Stats) << "" << "" << -1;
    }
    void requestRoundTrip()
    {
        QFETCH(int, type);
        QFETCH(QString, chunk);
        QFETCH(QString, kind);
        QFETCH(int, index);
        Request r;
        r.type = ClientMessageType(type);
        r.id = 4294967295u;
        r.model = QStringLiteral("m");
        r.chunk = chunk;
        r.kind = kind;
        r.index = index;
        const ClientMessage m = parseClientMessage(encodeRequest(r));
        QCOMPARE(m.type, r.type);
        QCOMPARE(m.request.id, r.id);
        QCOMPARE(m.request.model, r.model);
        QCOMPARE(m.request.chunk, chunk);
        QCOMPARE(m.request.kind, kind);
        QCOMPARE(m.request.index, index);
    }

    void hostileClientInput_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<uint>("expectedId");
        const QByteArray longName(300, 'a');
        QTest::newRow("empty") << QByteArray() << 0u;
        QTest::newRow("garbage") << QByteArray("\x01\x02 not json at all") << 0u;
        QTest::newRow("incomplete") << QByteArray("{\"type\":\"get\",\"id\":5,\"chunk\":\"layer_") << 0u;
        QTest::newRow("array") << QByteArray(R"([1,2,3])") << 0u;
        QTest::newRow("string") << QByteArray(R"("hello")") << 0u;
        QTest::newRow("no type") << QByteArray(R"({"id":3})") << 3u;
        QTest::newRow("type not string") << QByteArray(R"({"type":7,"id":3})") << 3u;
        QTest::newRow("unknown type") << QByteArray(R"({"type":"delete","id":9})") << 9u;
        QTest::newRow("missing id") << QByteArray(R"({"type":"ping"})") << 0u;
        QTest::newRow("id string") << QByteArray(R"({"type":"ping","id":"7"})") << 0u;
        QTest::newRow("id zero") << QByteArray(R"({"type":"ping","id":0})") << 0u;
        QTest::newRow("id negative") << QByteArray(R"({"type":"ping","id":-1})") << 0u;
        QTest::newRow("id fraction") << QByteArray(R"({"type":"ping","id":1.5})") << 0u;
        QTest::newRow("id too big") << QByteArray(R"({"type":"ping","id":4294967296})") << 0u;
        QTest::newRow("id huge") << QByteArray(R"({"type":"ping","id":1e300})") << 0u;
        QTest::newRow("get without address") << QByteArray(R"({"type":"get","id":4})") << 4u;
        QTest::newRow("get with both") << QByteArray(R"({"type":"get","id":4,"chunk":"layer_0","kind":"layer","index":0})") << 4u;
        QTest::newRow("chunk not string") << QByteArray(R"({"type":"get","id":4,"chunk":12})") << 4u;
        QTest::newRow("dotdot") << QByteArray(R"({"type":"get","id":4,"chunk":"../chunk_info.json"})") << 4u;
        QTest::newRow("absolute") << QByteArray(R"({"type":"get","id":4,"chunk":"/etc/passwd"})") << 4u;
        QTest::newRow("backslash") << QByteArray(R"({"type":"get","id":4,"chunk":"..\\secret"})") << 4u;
        QTest::newRow("nul") << QByteArray(R"({"type":"get","id":4,"chunk":"layer_0\u0000.txt"})") << 4u;
        QTest::newRow("long name") << QByteArray(R"({"type":"get","id":4,"chunk":")" + longName + R"("})") << 4u;
        QTest::newRow("fullwidth digit") << QByteArray(R"({"type":"get","id":4,"chunk":"layer_\uff10"})") << 4u;
        QTest::newRow("rtl override") << QByteArray(R"({"type":"get","id":4,"chunk":"layer_0\u202e"})") << 4u;
        QTest::newRow("lone surrogate") << QByteArray(R"({"type":"get","id":4,"chunk":"\ud800"})") << 4u;
        QTest::newRow("hidden file") << QByteArray(R"({"type":"get","id":4,"chunk":".hidden"})") << 4u;
        QTest::newRow("kind traversal") << QByteArray(R"({"type":"get","id":4,"kind":"../layer","index":1})") << 4u;
        QTest::newRow("index negative") << QByteArray(R"({"type":"get","id":4,"kind":"layer","index":-3})") << 4u;
        QTest::newRow("index string") << QByteArray(R"({"type":"get","id":4,"kind":"layer","index":"3"})") << 4u;
        QTest::newRow("index huge") << QByteArray(R"({"type":"get","id":4,"kind":"layer","index":1e12})") << 4u;
        QTest::newRow("index with chunk") << QByteArray(R"({"type":"get","id":4,"chunk":"layer_0","index":0})") << 4u;
        QTest::newRow("model control char") << QByteArray(R"({"type":"manifest","id":4,"model":"a\nb"})") << 4u;
        QTest::newRow("model empty") << QByteArray(R"({"type":"manifest","id":4,"model":""})") << 4u;
        QTest::newRow("model too long") << QByteArray(R"({"type":"manifest","id":4,"model":")" + longName + R"("})") << 4u;
        QTest::newRow("model object") << QByteArray(R"({"type":"manifest","id":4,"model":{}})") << 4u;
        QTest::newRow("hello no protocol") << QByteArray(R"({"type":"hello"})") << 0u;
        QTest::newRow("hello protocol string") << QByteArray(R"({"type":"hello","protocol":"1"})") << 0u;
        QTest::newRow("hello token number") << QByteArray(R"({"type":"hello","protocol":1,"token":5})") << 0u;
        QTest::newRow("hello token huge") << QByteArray(R"({"type":"hello","protocol":1,"token":")" + QByteArray(5000, 'x') + R"("})") << 0u;
        QTest::newRow("oversized") << QByteArray(R"({"type":"ping","id":1,"pad":")" + QByteArray(70000, 'x') + R"("})") << 0u;
        QTest::newRow("deep nesting") << QByteArray(2000, '[') << 0u;
    }
    void hostileClientInput()
    {
        QFETCH(QByteArray, text);
        QFETCH(uint, expectedId);
        try {
            parseClientMessage(text);
            QFAIL("accepted hostile input");
        } catch (const ProtocolError &e) {
            QCOMPARE(e.code(), ErrorCode::BadRequest);
            QCOMPARE(e.requestId(), quint32(expectedId));
            QVERIFY(!e.message().isEmpty());
        }
    }

    void unknownFieldsAreIgnored()
    {
        const ClientMessage m = parseClientMessage(R"({"type":"ping","id":2,"future_field":[1,2]})");
        QCOMPARE(m.type, ClientMessageType::Ping);
        QCOMPARE(m.request.id, 2u);
    }

    void serverMessagesRoundTrip()
    {
        Welcome w;
        w.server = QStringLiteral("surfing test");
        w.models = {QStringLiteral("a"), QStringLiteral("b")};
        w.defaultModel = QStringLiteral("a");
        ServerMessage m = parseServerMessage(encodeWelcome(w));
        QCOMPARE(m.type, ServerMessageType::Welcome);
        QCOMPARE(m.welcome.models, w.models);
        QCOMPARE(m.welcome.defaultModel, w.defaultModel);
        QCOMPARE(m.welcome.maxPieceBytes, kMaxPieceBytes);

        ChunkHeader h;
        h.id = 77;
        h.model = QStringLiteral("a");
        h.chunk = QStringLiteral("layer_1");
        h.size = 5000000000LL;
        h.rawSize = 6000000000LL;
        h.codec = QStringLiteral("zstd-bytegroup");
        h.sha256 = QByteArray(64, 'a');
        h.pieces = pieceCount(h.size);
        m = parseServerMessage(encodeChunkHeader(h));
        QCOMPARE(m.type, ServerMessageType::Chunk);
        QCOMPARE(m.id, 77u);
        QCOMPARE(m.chunk.size, h.size);
        QCOMPARE(m.chunk.rawSize, h.rawSize);
        QCOMPARE(m.chunk.pieces, h.pieces);
        QCOMPARE(m.chunk.sha256, h.sha256);

        ErrorReply e;
        e.id = 5;
        e.code = ErrorCode::RateLimited;
        e.message = QStringLiteral("slow down");
        e.retryAfterMs = 250;
        m = parseServerMessage(encodeError(e));
        QCOMPARE(m.type, ServerMessageType::Error);
        QCOMPARE(m.id, 5u);
        QCOMPARE(m.error.code, ErrorCode::RateLimited);
        QCOMPARE(m.error.retryAfterMs, 250);

        m = parseServerMessage(encodeManifestReply(3, QStringLiteral("a"), QJsonObject{{"model_name", "a"}}));
        QCOMPARE(m.type, ServerMessageType::Manifest);
        QCOMPARE(m.manifest.value(QLatin1String("model_name")).toString(), QStringLiteral("a"));
        QCOMPARE(parseServerMessage(encodeCancelled(9)).type, ServerMessageType::Cancelled);
        QCOMPARE(parseServerMessage(encodePong(9)).id, 9u);
    }

    void hostileServerInput_data()
    {
        QTest::addColumn<QByteArray>("text");
        const QByteArray sha(64, 'a');
        QTest::newRow("bad sha") << QByteArray(R"({"type":"chunk","id":1,"model":"m","chunk":"c","size":1,"raw_size":1,"codec":"none","sha256":"XYZ","pieces":1})");
        QTest::newRow("upper sha") << QByteArray(R"({"type":"chunk","id":1,"model":"m","chunk":"c","size":1,"raw_size":1,"codec":"none","sha256":")" + QByteArray(64, 'A') + R"(","pieces":1})");
        QTest::newRow("negative size") << QByteArray(R"({"type":"chunk","id":1,"model":"m","chunk":"c","size":-1,"raw_size":1,"codec":"none","sha256":")" + sha + R"(","pieces":1})");
        QTest::newRow("unknown codec") << QByteArray(R"({"type":"chunk","id":1,"model":"m","chunk":"c","size":1,"raw_size":1,"codec":"lzma","sha256":")" + sha + R"(","pieces":1})");
        QTest::newRow("chunk traversal") << QByteArray(R"({"type":"chunk","id":1,"model":"m","chunk":"../x","size":1,"raw_size":1,"codec":"none","sha256":")" + sha + R"(","pieces":1})");
        QTest::newRow("no id") << QByteArray(R"({"type":"pong"})");
        QTest::newRow("unknown type") << QByteArray(R"({"type":"surprise","id":1})");
        QTest::newRow("manifest not object") << QByteArray(R"({"type":"manifest","id":1,"model":"m","manifest":[]})");
        QTest::newRow("welcome no models") << QByteArray(R"({"type":"welcome","protocol":1,"max_piece_bytes":1,"max_in_flight":1})");
    }
    void hostileServerInput()
    {
        QFETCH(QByteArray, text);
        QVERIFY_THROWS_EXCEPTION(ProtocolError, parseServerMessage(text));
    }

    void pieces()
    {
        QCOMPARE(pieceCount(0), 0u);
        QCOMPARE(pieceCount(1), 1u);
        QCOMPARE(pieceCount(kMaxPieceBytes), 1u);
        QCOMPARE(pieceCount(kMaxPieceBytes + 1), 2u);
        QCOMPARE(pieceCount(64LL * 1024 * 1024), 256u);
        const QByteArray payload("hello pieces");
        const QByteArray message = encodePiece(0x01020304u, 7, payload);
        QCOMPARE(message.size(), kPieceHeaderBytes + payload.size());
        QCOMPARE(quint8(message[0]), quint8(0x04)); // little-endian
        QCOMPARE(quint8(message[3]), quint8(0x01));
        const std::optional<Piece> piece = parsePiece(message);
        QVERIFY(piece);
        QCOMPARE(piece->requestId, 0x01020304u);
        QCOMPARE(piece->index, 7u);
        QCOMPARE(piece->payload.toByteArray(), payload);
        QVERIFY(!parsePiece(QByteArray("short")));
        QVERIFY(!parsePiece(encodePiece(0, 0, payload)));
        QVERIFY(!parsePiece(encodePiece(1, 0, QByteArray(kMaxPieceBytes + 1, 'x'))));
        QVERIFY(parsePiece(encodePiece(1, 0, QByteArray())));
    }

    // The frame header the server writes before a piece's payload, in the three RFC 6455 length
    // forms; after it come exactly the bytes encodePiece() makes.
    void pieceFrameHeaders_data()
    {
        QTest::addColumn<qint64>("payload");
        QTest::addColumn<int>("lengthBytes");
        QTest::newRow("7-bit") << qint64(100) << 0;
        QTest::newRow("16-bit") << qint64(1000) << 2;
        QTest::newRow("64-bit") << qint64(kMaxPieceBytes) << 8;
    }

    void pieceFrameHeaders()
    {
        QFETCH(qint64, payload);
        QFETCH(int, lengthBytes);
        const QByteArray header = encodePieceFrameHeader(9, 3, payload);
        QCOMPARE(header.size(), 2 + lengthBytes + kPieceHeaderBytes);
        QCOMPARE(quint8(header[0]), quint8(0x82)); // FIN, binary
        QCOMPARE(quint8(header[1]) & 0x80, 0);       // not masked
        quint64 length = quint8(header[1]) & 0x7f;
        if (lengthBytes > 0) {
            QCOMPARE(int(length), lengthBytes == 2 ? 126 : 127);
            length = 0;
            for (int i = 0; i < lengthBytes; ++i)
                length = (length << 8) | quint8(header[2 + i]);
        }
        QCOMPARE(length, quint64(kPieceHeaderBytes + payload));
        const QByteArray body(int(payload), 'p');
        QCOMPARE(header.mid(2 + lengthBytes) + body, encodePiece(9, 3, body));
    }

    // The text frame the server writes for a chunk header: same length forms, opcode 1.
    void textFrames()
    {
        QCOMPARE(encodeFrameHeader(FrameType::Text, 2), QByteArray("\x81\x02", 2));
        QCOMPARE(encodeFrameHeader(FrameType::Text, 300), QByteArray("\x81\x7e\x01\x2c", 4)); // 16-bit length
        QCOMPARE(encodeFrameHeader(FrameType::Binary, 70000), QByteArray("\x82\x7f\0\0\0\0\0\x01\x11\x70", 10));
    }

    void errorCodeNames()
    {
        int count = 0;
        const ErrorCode *codes = allErrorCodes(&count);
        QCOMPARE(count, 5);
        for (int i = 0; i < count; ++i)
            QCOMPARE(errorCodeFromName(errorCodeName(codes[i])), codes[i]);
        QCOMPARE(errorCodeName(ErrorCode::RateLimited), QStringLiteral("rate_limited"));
        QVERIFY(!errorCodeFromName(QStringLiteral("nope")));
    }
};

QTEST_GUILESS_MAIN(TestProtocol)
#include "tst_protocol.moc"
