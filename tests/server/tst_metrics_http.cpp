// The monitoring port of a real `surfing-cli serve --metrics-port 0`, over raw loopback sockets:
// /metrics and /healthz content, GET only, bounded request heads, bodies refused without being
// read (the server's memory does not grow while a client streams one), slow clients timed out,
// a bounded number of connections, and the bind address (--metrics-host, loopback by default).
#include "serveprocess.h"
#include "testsupport.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTcpSocket>
#include <QtTest>

using namespace surfing::test;

namespace {

struct HttpAnswer {
    int status = 0; // 0: no status line before the connection closed
    QByteArray head;
    QByteArray body;
    bool closed = false;
};

HttpAnswer parseAnswer(const QByteArray &bytes, bool closed)
{
    HttpAnswer a;
    a.closed = closed;
    const qsizetype end = bytes.indexOf("\r\n\r\n");
    a.head = end < 0 ? bytes : bytes.left(end);
    a.body = end < 0 ? QByteArray() : bytes.mid(end + 4);
    const QList<QByteArray> statusLine = a.head.left(a.head.indexOf("\r\n")).split(' ');
    if (statusLine.size() >= 2 && statusLine[0].startsWith("HTTP/1."))
        a.status = statusLine[1].toInt();
    return a;
}

// Reads until the server closes the connection (or kWaitMs pass).
QByteArray readToClose(QTcpSocket &socket, bool *closed)
{
    QByteArray bytes;
    QElapsedTimer waited;
    waited.start();
    while (socket.state() == QAbstractSocket::ConnectedState && waited.elapsed() < kWaitMs) {
        socket.waitForReadyRead(1000);
        bytes += socket.readAll();
    }
    bytes += socket.readAll();
    *closed = socket.state() != QAbstractSocket::ConnectedState;
    return bytes;
}

HttpAnswer exchange(const QString &host, int port, const QByteArray &request)
{
    QTcpSocket socket;
    socket.connectToHost(host, quint16(port));
    if (!socket.waitForConnected(kWaitMs))
        return {};
    socket.write(request);
    socket.flush();
    bool closed = false;
    const QByteArray bytes = readToClose(socket, &closed);
    return parseAnswer(bytes, closed);
}

qint64 rssKiB(qint64 pid)
{
    QFile status(QStringLiteral("/proc/%1/status").arg(pid));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').value(0).toLongLong();
    }
    return -1;
}

} // namespace

class TestMetricsHttp : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    QString m_bert;
    ServeProcess m_server;

    HttpAnswer get(const QByteArray &request) { return exchange(QStringLiteral("127.0.0.1"), m_server.metricsPort(), request); }

private Q_SLOTS:
    void initTestCase()
    {
        if (sharedModelsDir().isEmpty())
            QSKIP("shared models not available");
        m_bert = m_dir.filePath(QStringLiteral("bert"));
        QVERIFY(chunkSharedModel(QStringLiteral("bert-random"), m_bert));
        QVERIFY(m_server.start({m_bert, QStringLiteral("--metrics-port"), QStringLiteral("0")}));
        QVERIFY(m_server.metricsPort() > 0);
    }

    void metricsAndHealth()
    {
        const HttpAnswer metrics = get("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        QCOMPARE(metrics.status, 200);
        QVERIFY(metrics.body.contains("# TYPE surfing_requests_total counter"));
        QVERIFY(metrics.closed);

        // The first check lands within a few seconds of the start.
        HttpAnswer health;
        QTRY_VERIFY_WITH_TIMEOUT((health = get("GET /healthz HTTP/1.0\r\n\r\n")).status == 200, kWaitMs);
        const QJsonObject json = QJsonDocument::fromJson(health.body).object();
        QCOMPARE(json.value(QLatin1String("status")).toString(), QStringLiteral("ok"));
        const QJsonArray models = json.value(QLatin1String("models")).toArray();
        QCOMPARE(models.size(), 1);
        QCOMPARE(models[0].toObject(), QJsonObject({{"name", "bert-random"}, {"storage", "ok"}}));
        // Unauthenticated: no path of this machine in it.
        QVERIFY2(!health.body.contains(QDir(m_bert).absolutePath().toUtf8()), health.body.constData());
        QVERIFY(!health.body.contains("location"));

        QCOMPARE(get("GET /metrics?x=1 HTTP/1.1\r\n\r\n").status, 200);
        QCOMPARE(get("GET /elsewhere HTTP/1.1\r\n\r\n").status, 404);
        QCOMPARE(get("this is not http\r\n\r\n").status, 400);
    }

    void onlyGetIsAnswered()
    {
        for (const QByteArray &method : {QByteArray("POST"), QByteArray("PUT"), QByteArray("DELETE"), QByteArray("HEAD")}) {
            const HttpAnswer a = get(method + " /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
            QCOMPARE(a.status, 405);
            QVERIFY(a.head.contains("Allow: GET"));
        }
    }

    void oversizedHeadIs431()
    {
        const QByteArray big = "GET /metrics HTTP/1.1\r\nX-Filler: " + QByteArray(16 * 1024, 'a') + "\r\n\r\n";
        const HttpAnswer a = get(big);
        QCOMPARE(a.status, 431);
        QVERIFY(a.closed);
        // A head without an end, sent forever: answered once it passes the limit.
        QCOMPARE(get("GET /metrics HTTP/1.1\r\nX-Filler: " + QByteArray(64 * 1024, 'b')).status, 431);
        QCOMPARE(get("GET /metrics HTTP/1.1\r\n\r\n").status, 200);
    }

    void chunkedBodyIs413()
    {
        const HttpAnswer a = get("POST /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
        QCOMPARE(a.status, 413);
        QCOMPARE(get("GET /metrics HTTP/1.1\r\nContent-Length: 12\r\n\r\nhello world!").status, 413);
    }

    // A 256 MB body is declared and streamed: the answer comes after the head, long before the
    // body could have been read, and the server's memory stays where it was.
    void hugeBodyIsRefusedUnread()
    {
        const qint64 before = rssKiB(m_server.processId());
        QVERIFY(before > 0);
        const qint64 declared = 256LL * 1024 * 1024;
        QTcpSocket socket;
        socket.connectToHost(QStringLiteral("127.0.0.1"), quint16(m_server.metricsPort()));
        QVERIFY(socket.waitForConnected(kWaitMs));
        socket.write("POST /metrics HTTP/1.1\r\nContent-Length: " + QByteArray::number(declared) + "\r\n\r\n");
        const QByteArray piece(64 * 1024, 'x');
        qint64 sent = 0;
        QByteArray answer;
        QElapsedTimer waited;
        waited.start();
        while (socket.state() == QAbstractSocket::ConnectedState && !answer.contains("\r\n\r\n") && sent < declared
               && waited.elapsed() < kWaitMs) {
            if (socket.bytesToWrite() < 4 * piece.size()) {
                socket.write(piece);
                sent += piece.size();
            }
            socket.waitForBytesWritten(50);
            answer += socket.readAll();
        }
        bool closed = false;
        answer += readToClose(socket, &closed);
        const qint64 after = rssKiB(m_server.processId());
        qInfo() << "sent" << sent << "of" << declared << "bytes; server RSS" << before << "->" << after << "KiB";
        QCOMPARE(parseAnswer(answer, closed).status, 413);
        QVERIFY(closed);
        QVERIFY2(sent < declared / 4, qPrintable(QStringLiteral("sent %1 bytes before the answer").arg(sent)));
        QVERIFY2(after - before < 16 * 1024, qPrintable(QStringLiteral("RSS %1 -> %2 KiB").arg(before).arg(after)));
        QCOMPARE(get("GET /metrics HTTP/1.1\r\n\r\n").status, 200);
    }

    // A client that sends half a request and then nothing is answered 408 and closed.
    void slowClientIsClosed()
    {
        QTcpSocket socket;
        socket.connectToHost(QStringLiteral("127.0.0.1"), quint16(m_server.metricsPort()));
        QVERIFY(socket.waitForConnected(kWaitMs));
        socket.write("GET /metrics HTTP/1.1\r\nHost: slo");
        socket.flush();
        bool closed = false;
        const QByteArray bytes = readToClose(socket, &closed);
        const HttpAnswer a = parseAnswer(bytes, closed);
        QVERIFY(a.closed);
        QCOMPARE(a.status, 408);
    }

    // Silent connections hold their slots; one more is answered 503 at once; once they go,
    // requests are served again.
    void connectionsAreBounded()
    {
        std::vector<std::unique_ptr<QTcpSocket>> idle;
        for (int i = 0; i < 16; ++i) {
            idle.push_back(std::make_unique<QTcpSocket>());
            idle.back()->connectToHost(QStringLiteral("127.0.0.1"), quint16(m_server.metricsPort()));
            QVERIFY(idle.back()->waitForConnected(kWaitMs));
        }
        QCOMPARE(get("GET /metrics HTTP/1.1\r\n\r\n").status, 503);
        for (auto &socket : idle)
            socket->abort();
        QTRY_COMPARE_WITH_TIMEOUT(get("GET /metrics HTTP/1.1\r\n\r\n").status, 200, kWaitMs);
    }

    void bindsLoopbackByDefaultAndMetricsHostMovesIt()
    {
        // Default: 127.0.0.1 only, whatever --host says.
        ServeProcess elsewhere;
        QVERIFY(elsewhere.start({m_bert, QStringLiteral("--host"), QStringLiteral("127.0.0.2"), QStringLiteral("--metrics-port"), QStringLiteral("0")}));
        QCOMPARE(elsewhere.url().host(), QStringLiteral("127.0.0.2"));
        QCOMPARE(exchange(QStringLiteral("127.0.0.1"), elsewhere.metricsPort(), "GET /metrics HTTP/1.1\r\n\r\n").status, 200);
        QCOMPARE(exchange(QStringLiteral("127.0.0.2"), elsewhere.metricsPort(), "GET /metrics HTTP/1.1\r\n\r\n").status, 0);

        ServeProcess moved;
        QVERIFY(moved.start({m_bert, QStringLiteral("--metrics-port"), QStringLiteral("0"), QStringLiteral("--metrics-host"), QStringLiteral("127.0.0.3")}));
        QVERIFY(moved.metricsPort() > 0);
        QCOMPARE(exchange(QStringLiteral("127.0.0.3"), moved.metricsPort(), "GET /metrics HTTP/1.1\r\n\r\n").status, 200);
        QCOMPARE(exchange(QStringLiteral("127.0.0.1"), moved.metricsPort(), "GET /metrics HTTP/1.1\r\n\r\n").status, 0);

        const CliResult bad = runCli({QStringLiteral("serve"), m_bert, QStringLiteral("--metrics-port"), QStringLiteral("0"),
                                      QStringLiteral("--metrics-host"), QStringLiteral("not-an-address")});
        QCOMPARE(bad.exitCode, 2);
        QVERIFY2(bad.err.contains("--metrics-host"), bad.err.constData());
    }
};

QTEST_GUILESS_MAIN(TestMetricsHttp)
#include "tst_metrics_http.moc"
