// The server against clients that do not play along, each against its own `surfing-cli serve`
// process over loopback: frames a client must not send, requests whose replies are never read
// (memory is measured in /proc/PID/status against a bound made of the configured limits),
// connections that never finish their handshake, a process out of descriptors, and what
// error messages may show.
#include "rawwsclient.h"
#include "serveprocess.h"
#include "socketwsclient.h"

#include "base/sha256.h"
#include "testsupport.h"

#include <QJsonDocument>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QTcpSocket>
#include <QtTest>
#include <functional>
#include <memory>
#include <vector>

using namespace surfing::test;

namespace {

constexpr qint64 kMiB = 1024 * 1024;
constexpr int kCloseProtocolError = 1002;

QString type(const QJsonObject &o) { return o.value(QLatin1String("type")).toString(); }
QString code(const QJsonObject &o) { return o.value(QLatin1String("code")).toString(); }

// Runs the event loop until `done()` or kWaitMs; `failed()` (optional) ends the wait early.
bool waitUntil(const std::function<bool()> &done, const std::function<bool()> &failed = {})
{
    QElapsedTimer clock;
    clock.start();
    while (!done()) {
        if ((failed && failed()) || clock.elapsed() > kWaitMs)
            return false;
        QTest::qWait(50);
    }
    return true;
}

QByteArray request(const char *type, quint32 id, const QJsonObject &extra = {})
{
    QJsonObject o = extra;
    o.insert(QLatin1String("type"), QLatin1String(type));
    o.insert(QLatin1String("id"), double(id));
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

bool allClosed(const std::vector<std::unique_ptr<SocketWsClient>> &clients)
{
    for (const auto &c : clients)
        if (!c->peerClosed())
            return false;
    return true;
}

} // namespace

class TestServeLimits : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    QString m_bert;

    void welcomed(RawClient &c, const QUrl &url)
    {
        QVERIFY(c.open(url));
        QCOMPARE(type(c.hello()), QStringLiteral("welcome"));
    }

    // Memory the serve process gained at its peak over `baseline`, in MiB, for messages.
    static double peakGainMiB(const ServeProcess &server, qint64 baseline)
    {
        return double(procStatusBytes(server.processId(), "VmHWM") - baseline) / kMiB;
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (sharedModelsDir().isEmpty())
            QSKIP("shared models not available");
        m_bert = m_dir.filePath(QStringLiteral("bert"));
        QVERIFY(chunkSharedModel(QStringLiteral("bert-random"), m_bert));
    }

    void unmaskedFramesCloseWith1002()
    {
        ServeProcess server;
        QVERIFY(server.start({m_bert}));
        // RFC 6455 5.1: a server must close the connection on an unmasked frame from a client.
        SocketWsClient first;
        QVERIFY(first.open(server.url()));
        first.send(SocketWsClient::frame(1, R"({"type":"hello","protocol":1})", false));
        std::optional<SocketFrame> reply = first.readFrame(kWaitMs);
        QVERIFY(reply);
        QCOMPARE(reply->opcode, 8);
        QCOMPARE(reply->closeCode(), kCloseProtocolError);

        // After a masked hello too.
        SocketWsClient later;
        QVERIFY(later.open(server.url()));
        QVERIFY(later.hello());
        later.send(SocketWsClient::frame(1, request("ping", 1), false));
        reply = later.readFrame(kWaitMs);
        QVERIFY(reply);
        QCOMPARE(reply->opcode, 8);
        QCOMPARE(reply->closeCode(), kCloseProtocolError);

        // Masked frames, a ping control frame among them, still work.
        SocketWsClient good;
        QVERIFY(good.open(server.url()));
        QVERIFY(good.hello());
        good.send(SocketWsClient::frame(9, "are you there"));
        reply = good.readFrame(kWaitMs);
        QVERIFY(reply);
        QCOMPARE(reply->opcode, 10);
        QCOMPARE(reply->payload, QByteArray("are you there"));
        good.send(SocketWsClient::frame(1, request("ping", 2)));
        reply = good.readFrame(kWaitMs);
        QVERIFY(reply);
        QVERIFY(reply->payload.contains(R"("type":"pong")"));
        QVERIFY(server.isRunning());
    }

    void unknownTypesGetWholePrintableErrors()
    {
        ServeProcess server;
        QVERIFY(server.start({m_bert}));
        RawClient c;
        welcomed(c, server.url());
        c.sendText("{\"type\":\"ab\\u0000cd\\u001b[2J\\u202eef\",\"id\":5}");
        QJsonObject e = c.nextJson();
        QCOMPARE(code(e), QStringLiteral("bad_request"));
        QCOMPARE(e.value(QLatin1String("id")).toInt(), 5);
        const QString message = e.value(QLatin1String("message")).toString();
        QVERIFY2(message.endsWith(QLatin1String("(expected hello, manifest, get, cancel, ping or stats)")), qPrintable(message));
        QVERIFY2(message.contains(QLatin1String("ab\\u0000cd\\u001b[2J\\u202eef")), qPrintable(message));
        for (const QChar ch : message)
            QVERIFY2(ch.category() != QChar::Other_Control && ch.category() != QChar::Other_Format, qPrintable(message));

        c.sendText(QByteArray("{\"type\":\"") + QByteArray(5000, 'x') + "\",\"id\":6}");
        e = c.nextJson();
        QCOMPARE(code(e), QStringLiteral("bad_request"));
        QVERIFY(e.value(QLatin1String("message")).toString().size() < 200);
        QCOMPARE(type(c.request(QStringLiteral("ping"), 7)), QStringLiteral("pong"));
    }

    void internalErrorsShowNoServerPaths()
    {
        const QString dir = m_dir.filePath(QStringLiteral("bert-broken"));
        QVERIFY(chunkSharedModel(QStringLiteral("bert-random"), dir));
        ServeProcess server;
        QVERIFY(server.start({dir}));
        const QJsonObject manifest = QJsonDocument::fromJson(readFile(dir + QStringLiteral("/chunk_info.json"))).object();
        const QString file = manifest.value(QLatin1String("chunks")).toObject().value(QLatin1String("layer_0")).toObject()
                                 .value(QLatin1String("file")).toString();
        QVERIFY(QFile::remove(dir + QLatin1Char('/') + file));

        RawClient c;
        welcomed(c, server.url());
        const QJsonObject e = c.request(QStringLiteral("get"), 3, {{"chunk", "layer_0"}});
        QCOMPARE(code(e), QStringLiteral("internal"));
        const QString message = e.value(QLatin1String("message")).toString();
        QVERIFY2(message.contains(QLatin1String("layer_0")), qPrintable(message));
        QVERIFY2(!message.contains(m_dir.path()) && !message.contains(file), qPrintable(message));
        QVERIFY2(!message.contains(QLatin1Char('/')), qPrintable(message));
        // The whole story is in the server's log.
        QVERIFY(waitUntil([&] { return server.stderrText().contains(dir.toUtf8()); }));
        QCOMPARE(type(c.request(QStringLiteral("ping"), 4)), QStringLiteral("pong"));
    }

    void unreadRepliesStopTheReading()
    {
        // Clients that send manifest requests and never read: the server stops reading them once
        // their unsent replies pass a few MiB, and closes them after the idle timeout.
        ServeProcess server;
        QVERIFY(server.start({m_bert, QStringLiteral("--idle-timeout"), QStringLiteral("3")}));
        const qint64 baseline = procStatusBytes(server.processId(), "VmRSS");
        QVERIFY(baseline > 0);
        const QByteArray one = SocketWsClient::frame(1, request("manifest", 1));
        QByteArray flood;
        for (quint32 id = 1; flood.size() < 800 * 1024; ++id)
            flood += SocketWsClient::frame(1, request("manifest", id));
        std::vector<std::unique_ptr<SocketWsClient>> clients;
        for (int i = 0; i < 4; ++i) {
            clients.push_back(std::make_unique<SocketWsClient>());
            QVERIFY(clients.back()->open(server.url(), 64 * 1024));
            QVERIFY(clients.back()->hello());
            QVERIFY(clients.back()->send(flood, 1000) > 0);
        }
        // Each connection may hold about 4 MiB of unsent replies (plus one reply and the
        // requests it holds back); the rest is the process's own noise.
        const double boundMiB = 4 * 5 + 32;
        const bool closed = waitUntil([&] { return allClosed(clients); }, [&] { return peakGainMiB(server, baseline) > boundMiB; });
        qInfo("serve grew by %.1f MiB at its peak (bound %.1f MiB)", peakGainMiB(server, baseline), boundMiB);
        QVERIFY2(peakGainMiB(server, baseline) <= boundMiB, qPrintable(QStringLiteral("serve grew by %1 MiB at its peak").arg(peakGainMiB(server, baseline))));
        QVERIFY2(closed, "the server did not close connections whose replies were not read");

        RawClient fresh;
        welcomed(fresh, server.url());
        QCOMPARE(type(fresh.request(QStringLiteral("manifest"), 1)), QStringLiteral("manifest"));
    }

    void readingResumesWhenTheClientReads()
    {
        // A client that sends many requests at once and then reads them all gets every reply, in
        // order: holding requests back delays them, never drops them.
        ServeProcess server;
        QVERIFY(server.start({m_bert}));
        SocketWsClient c;
        QVERIFY(c.open(server.url()));
        QVERIFY(c.hello());
        const quint32 count = 3000;
        QByteArray all;
        for (quint32 id = 1; id <= count; ++id)
            all += SocketWsClient::frame(1, request(id % 3 == 0 ? "ping" : "manifest", id));
        qint64 sent = 0;
        quint32 next = 1;
        while (next <= count) {
            if (sent < all.size()) {
                const qint64 n = c.send(all.mid(sent), 10);
                QVERIFY(n >= 0);
                sent += n;
            }
            const std::optional<SocketFrame> reply = c.readFrame(sent < all.size() ? 10 : kWaitMs);
            if (!reply)
                continue;
            QCOMPARE(reply->opcode, 1);
            const QJsonObject o = QJsonDocument::fromJson(reply->payload).object();
            QCOMPARE(quint32(o.value(QLatin1String("id")).toDouble()), next);
            QCOMPARE(type(o), QLatin1String(next % 3 == 0 ? "pong" : "manifest"));
            ++next;
        }
    }

    void unreadChunksStayWithinTheSendBounds()
    {
        // Two clients ask for many 28 MB chunks and never read. Per connection the server holds
        // at most --send-buffer-mb (plus one chunk), over all at most --total-send-buffer-mb
        // (plus one chunk); the idle timeout then closes both.
        QByteArray error;
        const QString chunks = makeChunkedModel(m_dir.filePath(QStringLiteral("big")),
                                                {QStringLiteral("--layers"), QStringLiteral("8"), QStringLiteral("--hidden"), QStringLiteral("768"),
                                                 QStringLiteral("--intermediate"), QStringLiteral("2048"), QStringLiteral("--heads"),
                                                 QStringLiteral("8"), QStringLiteral("--kv-heads"), QStringLiteral("8")},
                                                &error);
        QVERIFY2(!chunks.isEmpty(), error.constData());
        const QJsonObject manifest = QJsonDocument::fromJson(readFile(chunks + QStringLiteral("/chunk_info.json"))).object();
        const QJsonObject layer = manifest.value(QLatin1String("chunks")).toObject().value(QLatin1String("layer_0")).toObject();
        const qint64 chunkBytes = qint64(layer.value(QLatin1String("stored_bytes")).toDouble());
        QVERIFY2(chunkBytes > 20 * kMiB, qPrintable(QString::number(chunkBytes)));

        const int cacheMb = 16, sendMb = 64, totalMb = 32;
        ServeProcess server;
        QVERIFY(server.start({chunks, QStringLiteral("--cache-mb"), QString::number(cacheMb), QStringLiteral("--send-buffer-mb"),
                              QString::number(sendMb), QStringLiteral("--total-send-buffer-mb"), QString::number(totalMb),
                              QStringLiteral("--idle-timeout"), QStringLiteral("3")}));
        const qint64 baseline = procStatusBytes(server.processId(), "VmRSS");
        std::vector<std::unique_ptr<SocketWsClient>> clients;
        for (int i = 0; i < 2; ++i) {
            clients.push_back(std::make_unique<SocketWsClient>());
            QVERIFY(clients.back()->open(server.url(), 64 * 1024));
            QVERIFY(clients.back()->hello());
            QByteArray gets;
            for (quint32 id = 1; id <= 16; ++id)
                gets += SocketWsClient::frame(1, request("get", id, {{"chunk", QStringLiteral("layer_%1").arg((id + quint32(i) * 3) % 8)}}));
            QCOMPARE(clients.back()->send(gets, 1000), qint64(gets.size()));
        }
        // The cache, the server-wide bound plus one chunk, socket buffers and noise.
        const double boundMiB = cacheMb + totalMb + double(chunkBytes) / kMiB + 40;
        const bool closed = waitUntil([&] { return allClosed(clients); }, [&] { return peakGainMiB(server, baseline) > boundMiB; });
        qInfo("serve grew by %.1f MiB at its peak (bound %.1f MiB)", peakGainMiB(server, baseline), boundMiB);
        QVERIFY2(peakGainMiB(server, baseline) <= boundMiB,
                 qPrintable(QStringLiteral("serve grew by %1 MiB at its peak, bound %2").arg(peakGainMiB(server, baseline)).arg(boundMiB)));
        QVERIFY2(closed, server.stderrText().right(3000).constData());

        RawClient fresh;
        welcomed(fresh, server.url());
        fresh.sendText(request("get", 9, {{"chunk", "layer_5"}}));
        QJsonObject header;
        const QByteArray bytes = receiveChunk(fresh, 9, &header);
        QCOMPARE(bytes.size(), chunkBytes);
        QCOMPARE(surfing::Sha256::hashHex(bytes), header.value(QLatin1String("sha256")).toString().toLatin1());
    }

    void halfOpenConnectionsCountAndTimeOut()
    {
        ServeProcess server;
        QVERIFY(server.start({m_bert, QStringLiteral("--max-connections"), QStringLiteral("4"),
                              QStringLiteral("--handshake-timeout"), QStringLiteral("2")}));
        // Four connections that never send a byte fill --max-connections ...
        std::vector<std::unique_ptr<SocketWsClient>> silent;
        for (int i = 0; i < 4; ++i) {
            silent.push_back(std::make_unique<SocketWsClient>());
            QVERIFY(silent.back()->connectTcp(server.url()));
        }
        QTest::qWait(200); // let the server accept them before the next one comes
        RawClient refused;
        refused.open(server.url());
        QCOMPARE(refused.waitForClose(), 4013);
        // ... until the handshake timeout closes them.
        QVERIFY(waitUntil([&] { return allClosed(silent); }));
        RawClient in;
        welcomed(in, server.url());

        // Upgraded but no hello: closed too (policy violation).
        SocketWsClient mute;
        QVERIFY(mute.open(server.url()));
        const std::optional<SocketFrame> close = mute.readFrame(kWaitMs);
        QVERIFY(close);
        QCOMPARE(close->opcode, 8);
        QCOMPARE(close->closeCode(), 1008);
        QCOMPARE(type(in.request(QStringLiteral("ping"), 1)), QStringLiteral("pong"));
    }

    void tlsHandshakesCountAndTimeOut()
    {
        QString cert, key;
        const QString certError = makeSelfSignedCertificate(m_dir.path(), &cert, &key);
        QVERIFY2(certError.isEmpty(), qPrintable(certError));
        ServeProcess server;
        QVERIFY(server.start({m_bert, QStringLiteral("--tls-cert"), cert, QStringLiteral("--tls-key"), key, QStringLiteral("--max-connections"),
                              QStringLiteral("2"), QStringLiteral("--handshake-timeout"), QStringLiteral("2")}));
        QSslConfiguration ssl = QSslConfiguration::defaultConfiguration();
        ssl.setCaCertificates(QSslCertificate::fromPath(cert));
        // Two connections that never start TLS take both places ...
        std::vector<std::unique_ptr<SocketWsClient>> silent;
        for (int i = 0; i < 2; ++i) {
            silent.push_back(std::make_unique<SocketWsClient>());
            QVERIFY(silent.back()->connectTcp(server.url()));
        }
        QTest::qWait(200);
        RawClient refused;
        refused.open(server.url(), &ssl);
        QCOMPARE(refused.waitForClose(), 4013);
        // ... until the handshake timeout closes them.
        QVERIFY(waitUntil([&] { return allClosed(silent); }));
        RawClient in;
        QVERIFY(in.open(server.url(), &ssl));
        QCOMPARE(type(in.hello()), QStringLiteral("welcome"));
    }

    void outOfDescriptorsBacksOffAndRecovers()
    {
        // The process may open 64 descriptors; 100 connections that never finish a handshake
        // run it out. The server pauses accepting (no busy loop), closes them after the handshake
        // timeout and serves a real client afterwards.
        ServeProcess server;
        server.setFileLimit(64);
        QVERIFY(server.start({m_bert, QStringLiteral("--handshake-timeout"), QStringLiteral("4")}));
        std::vector<std::unique_ptr<QTcpSocket>> silent;
        for (int i = 0; i < 100; ++i) {
            silent.push_back(std::make_unique<QTcpSocket>());
            silent.back()->connectToHost(QHostAddress::LocalHost, quint16(server.url().port()));
        }
        QVERIFY(waitUntil([&] { return procOpenFiles(server.processId()) >= 62; }));
        const double cpuBefore = procCpuSeconds(server.processId());
        QElapsedTimer wall;
        wall.start();
        QTest::qWait(2000);
        const double cpu = procCpuSeconds(server.processId()) - cpuBefore;
        // A sanity check, not a speed one: a spinning accept loop burns all of its wall time.
        QVERIFY2(cpu < 0.25 * double(wall.elapsed()) / 1000, qPrintable(QStringLiteral("%1 s of CPU in %2 ms").arg(cpu).arg(wall.elapsed())));

        QVERIFY(waitUntil([&] {
            return std::all_of(silent.begin(), silent.end(), [](const auto &s) { return s->state() == QAbstractSocket::UnconnectedState; });
        }));
        RawClient c;
        welcomed(c, server.url());
        c.sendText(request("get", 2, {{"chunk", "pooler"}}));
        QJsonObject header;
        QVERIFY(!receiveChunk(c, 2, &header).isEmpty());
        QVERIFY2(server.stderrText().contains("accept failed"), server.stderrText().constData());
    }
};

QTEST_GUILESS_MAIN(TestServeLimits)
#include "tst_serve_limits.moc"
