#include "cluster.h"

#include "storage/s3storage.h"
#include "testsupport.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QDir>
#include <QDirIterator>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcessEnvironment>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QThread>

#include <cerrno>
#include <csignal>
#include <cstring>

namespace surfing::test {

namespace {

const char kBucket[] = "surfing";

QString sourceDir()
{
    return qEnvironmentVariable("SURFING_SOURCE_DIR");
}

} // namespace

HttpAnswer httpGet(int port, const QByteArray &path, const QByteArray &method, const QByteArray &extraHeaders)
{
    QTcpSocket socket;
    socket.connectToHost(QStringLiteral("127.0.0.1"), quint16(port));
    if (!socket.waitForConnected(5000))
        return {};
    // HTTP/1.1: HAProxy upgrades to WebSocket only from it.
    const QByteArray connection = extraHeaders.contains("Connection:") ? QByteArray() : QByteArray("Connection: close\r\n");
    socket.write(method + ' ' + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + connection + extraHeaders + "\r\n");
    QByteArray reply;
    QDeadlineTimer deadline(10000);
    while (socket.state() == QAbstractSocket::ConnectedState && !deadline.hasExpired()) {
        if (socket.waitForReadyRead(int(qMax<qint64>(1, deadline.remainingTime()))))
            reply += socket.readAll();
        if (reply.contains("\r\n\r\n") && reply.mid(9, 3) == "101")
            break; // upgraded: the session would stay open
    }
    reply += socket.readAll();
    HttpAnswer answer;
    if (!reply.startsWith("HTTP/1."))
        return answer;
    answer.status = reply.mid(9, 3).toInt();
    const qsizetype body = reply.indexOf("\r\n\r\n");
    answer.body = body < 0 ? QByteArray() : reply.mid(body + 4);
    return answer;
}

int freePort()
{
    QTcpServer server;
    server.listen(QHostAddress::LocalHost, 0);
    return server.serverPort();
}

std::unique_ptr<QProcess> startRun(const QStringList &args)
{
    auto run = std::make_unique<QProcess>();
    run->start(cliPath(), QStringList{QStringLiteral("run"), QStringLiteral("--json")} + args);
    run->waitForStarted(kWaitMs);
    return run;
}

QJsonObject finishRun(QProcess &run, QString *error)
{
    QDeadlineTimer deadline(kWaitMs * 2);
    while (run.state() != QProcess::NotRunning && !deadline.hasExpired()) {
        run.waitForFinished(100);
        QCoreApplication::processEvents();
    }
    const QByteArray out = run.readAllStandardOutput();
    const QByteArray err = run.readAllStandardError();
    if (run.state() != QProcess::NotRunning || run.exitStatus() != QProcess::NormalExit || run.exitCode() != 0) {
        *error = QStringLiteral("run failed (exit %1): %2").arg(run.exitCode()).arg(QString::fromUtf8(err.right(3000)));
        return {};
    }
    const QJsonObject doc = QJsonDocument::fromJson(out).object();
    if (doc.isEmpty())
        *error = QStringLiteral("run printed no JSON: %1").arg(QString::fromUtf8(out.left(300)));
    return doc;
}

QJsonObject storiesGolden()
{
    return readJsonObject(sharedModel(QStringLiteral("stories260K")) + QStringLiteral("/golden/prompts.json"))
        .value(QLatin1String("prompts")).toArray().at(0).toObject();
}

QVector<qint64> jsonIds(const QJsonValue &array)
{
    return idsFromJson(array);
}

QString missingBalancerTools()
{
    if (QStandardPaths::findExecutable(QStringLiteral("haproxy")).isEmpty()
        && !QFileInfo::exists(QStringLiteral("/usr/sbin/haproxy")))
        return QStringLiteral("haproxy is not installed (scripts/install-deps.sh installs it; CI runs it)");
    if (QStandardPaths::findExecutable(QStringLiteral("node")).isEmpty())
        return QStringLiteral("node is not installed (scripts/install-deps.sh installs it; CI runs it)");
    return {};
}

Cluster::~Cluster()
{
    if (m_haproxy.state() != QProcess::NotRunning) {
        m_haproxy.terminate();
        if (!m_haproxy.waitForFinished(10000)) {
            m_haproxy.kill();
            m_haproxy.waitForFinished();
        }
    }
    m_replicas.clear(); // ServeProcess kills its process
}

bool Cluster::startStorage(const QString &model, QString *error)
{
    m_model = model;
    if (!m_s3.start({QLatin1String(kBucket)}, error))
        return false;
    m_chunkDir = m_work.filePath(model);
    if (!chunkSharedModel(model, m_chunkDir)) {
        *error = QStringLiteral("cannot chunk %1").arg(model);
        return false;
    }
    S3Location location = S3Location::parse(QStringLiteral("s3://%1/%2").arg(QLatin1String(kBucket), model));
    location.endpoint = QUrl(m_s3.endpoint());
    location.credentials = {S3rverProcess::accessKey(), S3rverProcess::secretKey(), {}};
    location.applyEnvironment(QProcessEnvironment());
    S3Storage storage(location);
    QDirIterator it(m_chunkDir, QDir::Files, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString path = it.next();
        *error = writeAndWait(storage, QDir(m_chunkDir).relativeFilePath(path), readFile(path));
        if (!error->isEmpty())
            return false;
    }
    // The replicas (child processes) read the standard AWS variables.
    qputenv("AWS_ACCESS_KEY_ID", S3rverProcess::accessKey().toUtf8());
    qputenv("AWS_SECRET_ACCESS_KEY", S3rverProcess::secretKey().toUtf8());
    qputenv("AWS_ENDPOINT_URL", m_s3.endpoint().toUtf8());
    qputenv("AWS_REGION", "us-east-1");
    return true;
}

bool Cluster::startReplicas(int count, const QStringList &extraArgs, QString *error)
{
    m_replicaArgs = extraArgs;
    for (int i = 0; i < count; ++i) {
        Replica r;
        r.process = std::make_unique<ServeProcess>();
        r.port = freePort();
        r.healthPort = freePort();
        const QStringList args = QStringList{QStringLiteral("s3://%1/%2").arg(QLatin1String(kBucket), m_model),
                                             QStringLiteral("--metrics-port"), QString::number(r.healthPort)}
                                 + extraArgs;
        if (!r.process->start(args, r.port)) {
            *error = QStringLiteral("replica %1 did not start: %2").arg(i).arg(QString::fromUtf8(r.process->stderrText()));
            return false;
        }
        m_replicas.push_back(std::move(r));
    }
    return true;
}

bool Cluster::restartReplica(int i)
{
    return m_replicas[size_t(i)].process->restart();
}

bool Cluster::startBalancer(QString *error)
{
    const QString haproxy = QFileInfo::exists(QStringLiteral("/usr/sbin/haproxy"))
                                ? QStringLiteral("/usr/sbin/haproxy") : QStringLiteral("haproxy");
    m_balancerPort = freePort();
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("SURFING_HAPROXY_UNPRIVILEGED"), QStringLiteral("1"));
    env.insert(QStringLiteral("SURFING_BIND"), QStringLiteral("127.0.0.1:%1").arg(m_balancerPort));
    for (int i = 0; i < 3; ++i) {
        // The shipped file names three replicas; absent ones point at closed ports (down).
        const QString n = QStringLiteral("SURFING_R%1_").arg(i + 1);
        env.insert(n + QStringLiteral("HOST"), QStringLiteral("127.0.0.1"));
        env.insert(n + QStringLiteral("PORT"), QString::number(i < replicaCount() ? replicaPort(i) : freePort()));
        env.insert(n + QStringLiteral("HEALTH_PORT"), QString::number(i < replicaCount() ? healthPort(i) : freePort()));
    }
    m_haproxy.setProcessEnvironment(env);
    m_haproxy.setProcessChannelMode(QProcess::MergedChannels);
    m_haproxy.start(haproxy, {QStringLiteral("-db"), QStringLiteral("-f"),
                              sourceDir() + QStringLiteral("/packaging/haproxy/surfing.cfg")});
    if (!m_haproxy.waitForStarted(kWaitMs)) {
        *error = QStringLiteral("cannot start haproxy: %1").arg(m_haproxy.errorString());
        return false;
    }
    if (!waitForAllUp()) {
        *error = QStringLiteral("haproxy did not report the replicas up: %1").arg(QString::fromUtf8(balancerLog()));
        return false;
    }
    return true;
}

QByteArray Cluster::balancerLog()
{
    return m_haproxy.readAll();
}

bool Cluster::waitForAllUp()
{
    QDeadlineTimer deadline(kWaitMs);
    while (!deadline.hasExpired()) {
        bool up = m_haproxy.state() == QProcess::Running && httpGet(m_balancerPort, "/healthz").status == 200;
        for (int i = 0; up && i < replicaCount(); ++i)
            up = httpGet(healthPort(i), "/healthz").status == 200;
        if (up) {
            // HAProxy needs `rise` good checks (2 x 1 s) before it sends a replica sessions.
            QThread::msleep(2500);
            return true;
        }
        QCoreApplication::processEvents();
        QThread::msleep(100);
    }
    return false;
}

QUrl Cluster::replicaUrl(int i) const
{
    return QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(replicaPort(i)));
}

QString Cluster::replicaList() const
{
    QStringList urls;
    for (int i = 0; i < replicaCount(); ++i)
        urls << replicaUrl(i).toString();
    return urls.join(QLatin1Char(','));
}

QUrl Cluster::balancerUrl() const
{
    return QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(m_balancerPort));
}

QPair<double, double> Cluster::servedAndInFlight(int replica) const
{
    const HttpAnswer answer = httpGet(healthPort(replica), "/metrics");
    if (answer.status != 200)
        return {-1, -1};
    double served = 0, gets = 0;
    for (const QByteArray &line : answer.body.split('\n')) {
        const double value = line.mid(line.lastIndexOf(' ') + 1).toDouble();
        if (line.startsWith("surfing_chunks_served_total "))
            served = value;
        else if (line.startsWith("surfing_requests_total{type=\"get\"} "))
            gets = value;
    }
    return {served, gets - served - m_inFlightBase.value(replica)};
}

void Cluster::markInFlightBaseline()
{
    m_inFlightBase.clear();
    for (int i = 0; i < replicaCount(); ++i) {
        m_inFlightBase.append(0);
        const auto [served, inFlight] = servedAndInFlight(i);
        m_inFlightBase[i] = qMax(0.0, inFlight);
    }
}

double Cluster::metric(int replica, const QByteArray &name) const
{
    const HttpAnswer answer = httpGet(healthPort(replica), "/metrics");
    if (answer.status != 200)
        return -1;
    double total = 0;
    for (const QByteArray &line : answer.body.split('\n')) {
        if (line.startsWith(name + ' ') || line.startsWith(name + '{'))
            total += line.mid(line.lastIndexOf(' ') + 1).toDouble();
    }
    return total;
}

double Cluster::servedBy(int replica) const
{
    return metric(replica, "surfing_chunks_served_total");
}

QVector<double> Cluster::servedNow() const
{
    QVector<double> served;
    for (int i = 0; i < replicaCount(); ++i)
        served << servedBy(i);
    return served;
}

int Cluster::waitForServing(QProcess &run, const QVector<double> &before, double chunks) const
{
    while (run.state() != QProcess::NotRunning) {
        for (int i = 0; i < replicaCount(); ++i) {
            const auto [served, inFlight] = servedAndInFlight(i);
            if (served - before[i] >= chunks && inFlight > 0)
                return i;
        }
        run.waitForFinished(20); // also lets QProcess see the process end
    }
    return -1;
}

QJsonObject Cluster::runWithFrozenReplica(const QStringList &args, double chunks, int *victim, QString *error)
{
    const QVector<double> before = servedNow();
    markInFlightBaseline();
    auto run = startRun(args);
    *victim = waitForServing(*run, before, chunks);
    const pid_t pid = *victim >= 0 ? pid_t(replica(*victim).processId()) : 0;
    if (pid > 0 && ::kill(pid, SIGSTOP) != 0)
        *error = QStringLiteral("cannot stop replica %1: %2").arg(*victim).arg(QString::fromLocal8Bit(std::strerror(errno)));
    QString runError;
    const QJsonObject out = finishRun(*run, &runError);
    if (pid > 0)
        ::kill(pid, SIGCONT);
    if (error->isEmpty())
        *error = runError;
    return out;
}

} // namespace surfing::test
