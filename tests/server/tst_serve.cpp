// `surfing-cli serve` in its own process over loopback, poked by a raw WebSocket client:
// handshake, manifest, gets by name and by kind/index, many requests at once, cancel, several
// models, hostile messages, /healthz and /metrics, and a clean stop on SIGTERM.
#include "rawwsclient.h"
#include "serveprocess.h"

#include "base/sha256.h"
#include "testsupport.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkProxy>
#include <QNetworkReply>
#include <QtTest>

using namespace surfing::test;

class TestServe : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    QString m_bert, m_llama;
    QJsonObject m_bertManifest;
    ServeProcess m_server;

    QJsonObject chunkEntry(const QString &name) const
    {
        return m_bertManifest.value(QLatin1String("chunks")).toObject().value(name).toObject();
    }
    QStringList chunkNames() const { return m_bertManifest.value(QLatin1String("chunks")).toObject().keys(); }

    void welcomed(RawClient &c, const QUrl &url)
    {
        QVERIFY(c.open(url));
        QCOMPARE(c.hello().value(QLatin1String("type")).toString(), QStringLiteral("welcome"));
    }

    void expectError(RawClient &c, const QByteArray &text, const QString &code, quint32 id)
    {
        c.sendText(text);
        const QJsonObject reply = c.nextJson();
        QCOMPARE(reply.value(QLatin1String("type")).toString(), QStringLiteral("error"));
        QCOMPARE(reply.value(QLatin1String("code")).toString(), code);
        QCOMPARE(quint32(reply.value(QLatin1String("id")).toDouble()), id);
        QVERIFY(!reply.value(QLatin1String("message")).toString().isEmpty());
    }

    QByteArray httpGet(const QString &path, int *status)
    {
        QNetworkAccessManager nam;
        nam.setProxy(QNetworkProxy::NoProxy); // loopback, whatever the environment says
        QNetworkReply *reply = nam.get(QNetworkRequest(QUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(m_server.metricsPort()).arg(path))));
        QSignalSpy done(reply, &QNetworkReply::finished);
        if (!reply->isFinished())
            done.wait(kWaitMs);
        *status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        const QByteArray body = reply->readAll();
        delete reply;
        return body;
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (sharedModelsDir().isEmpty())
            QSKIP("shared models not available");
        m_bert = m_dir.filePath(QStringLiteral("bert"));
        m_llama = m_dir.filePath(QStringLiteral("llama"));
        QVERIFY(chunkSharedModel(QStringLiteral("bert-random"), m_bert));
        QVERIFY(chunkSharedModel(QStringLiteral("llama-random"), m_llama, {QStringLiteral("--compress")}));
        m_bertManifest = QJsonDocument::fromJson(readFile(m_bert + QStringLiteral("/chunk_info.json"))).object();
        QCOMPARE(m_bertManifest.value(QLatin1String("model_name")).toString(), QStringLiteral("bert-random"));
        QVERIFY(m_server.start({m_bert, m_llama, QStringLiteral("--metrics-port"), QStringLiteral("0"), QStringLiteral("--cache-mb"), QStringLiteral("64")}));
        QCOMPARE(m_server.url().scheme(), QStringLiteral("ws"));
        QCOMPARE(m_server.url().host(), QStringLiteral("127.0.0.1"));
        QVERIFY(m_server.metricsPort() > 0);
    }

    void handshake()
    {
        RawClient c;
        QVERIFY(c.open(m_server.url()));
        const QJsonObject w = c.hello();
        QCOMPARE(w.value(QLatin1String("type")).toString(), QStringLiteral("welcome"));
        QCOMPARE(w.value(QLatin1String("protocol")).toInt(), 1);
        QCOMPARE(w.value(QLatin1String("models")).toArray(), QJsonArray({"bert-random", "llama-random"}));
        QCOMPARE(w.value(QLatin1String("default_model")).toString(), QStringLiteral("bert-random"));
        QCOMPARE(w.value(QLatin1String("max_piece_bytes")).toInt(), 256 * 1024);
        QCOMPARE(c.request(QStringLiteral("ping"), 1).value(QLatin1String("type")).toString(), QStringLiteral("pong"));
    }

    void requestBeforeHelloClosesTheConnection()
    {
        RawClient c;
        QVERIFY(c.open(m_server.url()));
        expectError(c, R"({"type":"get","id":3,"chunk":"layer_0"})", QStringLiteral("bad_request"), 3);
        QCOMPARE(c.waitForClose(), int(QWebSocketProtocol::CloseCodeProtocolError));
    }

    void unknownProtocolVersion()
    {
        RawClient c;
        QVERIFY(c.open(m_server.url()));
        c.sendText(R"({"type":"hello","protocol":99})");
        const QJsonObject e = c.nextJson();
        QCOMPARE(e.value(QLatin1String("code")).toString(), QStringLiteral("bad_request"));
        QCOMPARE(e.value(QLatin1String("protocols")).toArray(), QJsonArray({1}));
        QVERIFY(c.waitForClose() >= 1000);
    }

    void manifestIsTheChunkDirectorysManifest()
    {
        RawClient c;
        welcomed(c, m_server.url());
        const QJsonObject r = c.request(QStringLiteral("manifest"), 5);
        QCOMPARE(r.value(QLatin1String("type")).toString(), QStringLiteral("manifest"));
        QCOMPARE(r.value(QLatin1String("id")).toInt(), 5);
        QCOMPARE(r.value(QLatin1String("model")).toString(), QStringLiteral("bert-random"));
        QCOMPARE(r.value(QLatin1String("manifest")).toObject(), m_bertManifest);
        const QJsonObject other = c.request(QStringLiteral("manifest"), 6, {{"model", "llama-random"}});
        QCOMPARE(other.value(QLatin1String("model")).toString(), QStringLiteral("llama-random"));
    }

    void getEveryChunkByName()
    {
        RawClient c;
        welcomed(c, m_server.url());
        quint32 id = 10;
        for (const QString &name : chunkNames()) {
            const QJsonObject entry = chunkEntry(name);
            c.sendText(QJsonDocument(QJsonObject{{"type", "get"}, {"id", double(++id)}, {"chunk", name}}).toJson());
            QJsonObject header;
            const QByteArray bytes = receiveChunk(c, id, &header);
            QCOMPARE(header.value(QLatin1String("chunk")).toString(), name);
            const QByteArray onDisk = readFile(m_bert + QLatin1Char('/') + entry.value(QLatin1String("file")).toString());
            QVERIFY(!onDisk.isEmpty());
            QCOMPARE(bytes.size(), onDisk.size());
            QVERIFY(bytes == onDisk);
            QCOMPARE(header.value(QLatin1String("sha256")).toString().toLatin1(), surfing::Sha256::hashHex(bytes));
            QCOMPARE(header.value(QLatin1String("sha256")).toString(), entry.value(QLatin1String("sha256")).toString());
            QCOMPARE(header.value(QLatin1String("pieces")).toInt(), int((bytes.size() + 262143) / 262144));
        }
    }

    void getByKindAndIndex()
    {
        RawClient c;
        welcomed(c, m_server.url());
        quint32 id = 100;
        int checked = 0;
        for (const QString &name : chunkNames()) {
            const QJsonObject entry = chunkEntry(name);
            QJsonObject get{{"type", "get"}, {"id", double(++id)}, {"kind", entry.value(QLatin1String("kind"))}};
            if (entry.value(QLatin1String("index")).isDouble() && entry.value(QLatin1String("index")).toInt() >= 0)
                get.insert(QLatin1String("index"), entry.value(QLatin1String("index")));
            c.sendText(QJsonDocument(get).toJson());
            QJsonObject header;
            const QByteArray bytes = receiveChunk(c, id, &header);
            QCOMPARE(header.value(QLatin1String("chunk")).toString(), name);
            QCOMPARE(surfing::Sha256::hashHex(bytes), entry.value(QLatin1String("sha256")).toString().toLatin1());
            ++checked;
        }
        QVERIFY(checked >= 4);
        expectError(c, R"({"type":"get","id":7,"kind":"layer","index":999})", QStringLiteral("not_found"), 7);
    }

    void manyRequestsAtOnceOnOneConnection()
    {
        RawClient c;
        welcomed(c, m_server.url());
        const QStringList names = chunkNames();
        QHash<quint32, QString> wanted;
        for (int round = 0; round < 3; ++round) {
            for (const QString &name : names) {
                const quint32 id = quint32(1000 + wanted.size());
                wanted.insert(id, name);
                c.sendText(QJsonDocument(QJsonObject{{"type", "get"}, {"id", double(id)}, {"chunk", name}}).toJson());
            }
        }
        QHash<quint32, QByteArray> got;
        QHash<quint32, qint64> pieces;
        QHash<quint32, quint32> nextIndex;
        while (got.size() < wanted.size() || [&] { for (auto it = pieces.begin(); it != pieces.end(); ++it) if (nextIndex.value(it.key()) < it.value()) return true; return false; }()) {
            const WireMessage m = c.next();
            QVERIFY(m.binary || !m.data.isEmpty());
            if (m.binary) {
                const quint32 id = qFromLittleEndian<quint32>(m.data.constData());
                const quint32 index = qFromLittleEndian<quint32>(m.data.constData() + 4);
                QVERIFY(got.contains(id));               // header first
                QCOMPARE(index, nextIndex.value(id));    // in order within a request
                nextIndex[id] = index + 1;
                got[id] += m.data.mid(8);
            } else {
                const QJsonObject h = m.json();
                QCOMPARE(h.value(QLatin1String("type")).toString(), QStringLiteral("chunk"));
                const quint32 id = quint32(h.value(QLatin1String("id")).toDouble());
                QVERIFY(wanted.contains(id) && !got.contains(id));
                got.insert(id, QByteArray());
                pieces.insert(id, qint64(h.value(QLatin1String("pieces")).toDouble()));
            }
        }
        for (auto it = wanted.begin(); it != wanted.end(); ++it)
            QCOMPARE(surfing::Sha256::hashHex(got.value(it.key())), chunkEntry(it.value()).value(QLatin1String("sha256")).toString().toLatin1());
    }

    void modelByUrlPathAndByHello()
    {
        RawClient byPath;
        QUrl url = m_server.url();
        url.setPath(QStringLiteral("/llama-random"));
        QVERIFY(byPath.open(url));
        QCOMPARE(byPath.hello().value(QLatin1String("default_model")).toString(), QStringLiteral("llama-random"));
        QCOMPARE(byPath.request(QStringLiteral("manifest"), 1).value(QLatin1String("model")).toString(), QStringLiteral("llama-random"));

        RawClient byHello;
        QVERIFY(byHello.open(m_server.url()));
        QCOMPARE(byHello.hello({}, QStringLiteral("llama-random")).value(QLatin1String("default_model")).toString(), QStringLiteral("llama-random"));
        byHello.sendText(R"({"type":"get","id":2,"kind":"layer","index":0})");
        QJsonObject header;
        const QByteArray bytes = receiveChunk(byHello, 2, &header);
        QCOMPARE(header.value(QLatin1String("model")).toString(), QStringLiteral("llama-random"));
        QCOMPARE(header.value(QLatin1String("codec")).toString(), QStringLiteral("zstd-bytegroup"));
        QCOMPARE(bytes.size(), qint64(header.value(QLatin1String("size")).toDouble()));

        RawClient unknown;
        QVERIFY(unknown.open(m_server.url()));
        const QJsonObject e = unknown.hello({}, QStringLiteral("gpt-17"));
        QCOMPARE(e.value(QLatin1String("code")).toString(), QStringLiteral("not_found"));
    }

    void onlyManifestNamesAreServed()
    {
        RawClient c;
        welcomed(c, m_server.url());
        // Files that exist in the directory but are not chunks.
        expectError(c, R"({"type":"get","id":1,"chunk":"config.json"})", QStringLiteral("not_found"), 1);
        expectError(c, R"({"type":"get","id":2,"chunk":"chunk_info.json"})", QStringLiteral("not_found"), 2);
        expectError(c, R"({"type":"get","id":3,"chunk":"layer_0.safetensors"})", QStringLiteral("not_found"), 3);
        expectError(c, R"({"type":"get","id":4,"chunk":"layer_99"})", QStringLiteral("not_found"), 4);
        // Names that try to leave it.
        expectError(c, R"({"type":"get","id":5,"chunk":"../bert/chunk_info.json"})", QStringLiteral("bad_request"), 5);
        expectError(c, R"({"type":"get","id":6,"chunk":"/etc/passwd"})", QStringLiteral("bad_request"), 6);
        expectError(c, R"({"type":"get","id":7,"chunk":"layer_0\u0000"})", QStringLiteral("bad_request"), 7);
        expectError(c, "{\"type\":\"get\",\"id\":8,\"chunk\":\"" + QByteArray(5000, 'a') + "\"}", QStringLiteral("bad_request"), 8);
        expectError(c, R"({"type":"get","id":9,"chunk":"layer_\u0660"})", QStringLiteral("bad_request"), 9);
        expectError(c, R"({"type":"get","id":10,"chunk":"l\u0430yer_0"})", QStringLiteral("bad_request"), 10);
        expectError(c, R"({"type":"get","id":11,"chunk":"layer_0","model":"../llama"})", QStringLiteral("not_found"), 11);
        expectError(c, R"({"type":"get","id":12,"chunk":"layer_0","model":"bert-random\u202e"})", QStringLiteral("bad_request"), 12);
        QCOMPARE(c.request(QStringLiteral("ping"), 13).value(QLatin1String("type")).toString(), QStringLiteral("pong"));
    }

    void hostileMessagesGetErrorsAndTheServerStaysUp()
    {
        RawClient c;
        welcomed(c, m_server.url());
        expectError(c, "this is not json", QStringLiteral("bad_request"), 0);
        expectError(c, "{\"type\":\"get\",\"id\":5,\"chunk\":\"lay", QStringLiteral("bad_request"), 0);
        expectError(c, "[]", QStringLiteral("bad_request"), 0);
        expectError(c, R"({"type":"format_disk","id":41})", QStringLiteral("bad_request"), 41);
        expectError(c, R"({"type":"get","id":"seven","chunk":"layer_0"})", QStringLiteral("bad_request"), 0);
        expectError(c, R"({"type":"get","id":42})", QStringLiteral("bad_request"), 42);
        expectError(c, R"({"type":"hello","protocol":1})", QStringLiteral("bad_request"), 0); // second hello
        c.sendBinary(QByteArray("\x00\x01\x02\x03 binary from a client", 26));
        QCOMPARE(c.nextJson().value(QLatin1String("code")).toString(), QStringLiteral("bad_request"));
        QCOMPARE(c.request(QStringLiteral("ping"), 43).value(QLatin1String("type")).toString(), QStringLiteral("pong"));

        // Oversized: an error, then the connection closes; the server keeps serving others.
        RawClient big;
        welcomed(big, m_server.url());
        big.sendText(QByteArray(R"({"type":"ping","id":1,"pad":")") + QByteArray(100 * 1024, 'x') + "\"}");
        QCOMPARE(big.nextJson().value(QLatin1String("code")).toString(), QStringLiteral("bad_request"));
        QCOMPARE(big.waitForClose(), int(QWebSocketProtocol::CloseCodeTooMuchData));
        RawClient huge;
        welcomed(huge, m_server.url());
        huge.sendText(QByteArray(3 * 1024 * 1024, 'x'));
        QVERIFY(huge.waitForClose() >= 1000);

        QCOMPARE(c.request(QStringLiteral("ping"), 44).value(QLatin1String("type")).toString(), QStringLiteral("pong"));
        RawClient fresh;
        welcomed(fresh, m_server.url());
        QVERIFY(m_server.isRunning());
    }

    void statsReply()
    {
        RawClient c;
        welcomed(c, m_server.url());
        const QJsonObject r = c.request(QStringLiteral("stats"), 1);
        QCOMPARE(r.value(QLatin1String("type")).toString(), QStringLiteral("stats"));
        const QJsonObject s = r.value(QLatin1String("stats")).toObject();
        QVERIFY(s.value(QLatin1String("chunks_served")).toDouble() > 0);
        // Every chunk was fetched several times above: later fetches came from the cache.
        QVERIFY(s.value(QLatin1String("cache")).toObject().value(QLatin1String("hits")).toDouble() > 0);
        QVERIFY(s.value(QLatin1String("errors")).toObject().value(QLatin1String("not_found")).toDouble() >= 4);
    }

    void healthAndMetrics()
    {
        int status = 0;
        const QJsonObject health = QJsonDocument::fromJson(httpGet(QStringLiteral("/healthz"), &status)).object();
        if (status != 200)
            qWarning() << "server running:" << m_server.isRunning() << "stderr:" << m_server.stderrText();
        QCOMPARE(status, 200);
        QCOMPARE(health.value(QLatin1String("status")).toString(), QStringLiteral("ok"));
        QCOMPARE(health.value(QLatin1String("accepting")).toBool(), true);
        QCOMPARE(health.value(QLatin1String("models")).toArray().size(), 2);

        const QByteArray metrics = httpGet(QStringLiteral("/metrics"), &status);
        QCOMPARE(status, 200);
        for (const char *line : {"# TYPE surfing_requests_total counter", "surfing_requests_total{type=\"get\"} ",
                                 "surfing_errors_total{code=\"bad_request\"} ", "surfing_errors_total{code=\"rate_limited\"} 0",
                                 "surfing_cache_hits_total ", "surfing_cache_misses_total ", "surfing_bytes_sent_total ",
                                 "surfing_connections_open ", "# TYPE surfing_get_latency_seconds histogram",
                                 "surfing_get_latency_seconds_bucket{le=\"+Inf\"} ", "surfing_get_latency_seconds_count "})
            QVERIFY2(metrics.contains(line), line);
        const QRegularExpression hits(QStringLiteral("surfing_cache_hits_total (\\d+)"));
        QVERIFY(hits.match(QString::fromUtf8(metrics)).captured(1).toLongLong() > 0);
        httpGet(QStringLiteral("/nothing-here"), &status);
        QCOMPARE(status, 404);
    }

    void cancelStopsPieces()
    {
        // Paced at 2 Mbit/s, the 15 MB embeddings chunk takes a minute: cancel lands mid-way.
        ServeProcess slow;
        QVERIFY(slow.start({m_bert, QStringLiteral("--limit-mbps"), QStringLiteral("2")}));
        RawClient c;
        welcomed(c, slow.url());
        c.sendText(R"({"type":"get","id":9,"chunk":"embeddings"})");
        const QJsonObject header = c.nextJson();
        QCOMPARE(header.value(QLatin1String("type")).toString(), QStringLiteral("chunk"));
        const int total = header.value(QLatin1String("pieces")).toInt();
        QVERIFY(total > 20);
        QVERIFY(c.next().binary); // a first piece is on its way
        c.sendText(R"({"type":"cancel","id":9})");
        int piecesBeforeCancelled = 1;
        for (;;) {
            const WireMessage m = c.next();
            QVERIFY(m.binary || !m.data.isEmpty());
            if (!m.binary) {
                QCOMPARE(m.json().value(QLatin1String("type")).toString(), QStringLiteral("cancelled"));
                break;
            }
            ++piecesBeforeCancelled;
        }
        QVERIFY(piecesBeforeCancelled < total);
        // Nothing more for id 9 after "cancelled": the next message is the pong.
        QCOMPARE(c.request(QStringLiteral("ping"), 10).value(QLatin1String("type")).toString(), QStringLiteral("pong"));
        // The connection still serves gets.
        c.sendText(R"({"type":"get","id":11,"chunk":"pooler"})");
        QJsonObject h;
        QVERIFY(!receiveChunk(c, 11, &h).isEmpty());
        QCOMPARE(slow.terminate(), 0);
    }

    void sigtermStopsCleanly()
    {
        RawClient c;
        welcomed(c, m_server.url());
        QCOMPARE(m_server.terminate(), 0);
        QVERIFY(m_server.stderrText().contains("stopped"));
        QVERIFY(c.waitForClose() >= 0);
    }
};

QTEST_GUILESS_MAIN(TestServe)
#include "tst_serve.moc"
