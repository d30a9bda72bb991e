// The scale-out set-up of docs/deploy.md on loopback, started by the test itself: s3rver with a
// chunked model uploaded to it, N `surfing-cli serve s3://...` replicas on fixed ports (so a
// killed one comes back where the balancer expects it), and HAProxy running the shipped
// packaging/haproxy/surfing.cfg with those ports in its environment.
#pragma once

#include "s3rverprocess.h"
#include "serveprocess.h"

#include <QJsonObject>
#include <QProcess>
#include <QString>
#include <QTemporaryDir>
#include <QUrl>
#include <QVector>
#include <memory>
#include <vector>

namespace surfing::test {

// An HTTP/1.0 GET on 127.0.0.1:port; status 0 when nothing answered.
struct HttpAnswer {
    int status = 0;
    QByteArray body;
};
HttpAnswer httpGet(int port, const QByteArray &path, const QByteArray &method = "GET",
                   const QByteArray &extraHeaders = {});
int freePort();

// `surfing-cli run --json ARGS` in the background; finishRun() waits (generously) and returns
// its JSON document, or an empty object with `error` set.
std::unique_ptr<QProcess> startRun(const QStringList &args);
QJsonObject finishRun(QProcess &run, QString *error);
// The first stories260K prompt of ../shared/models/stories260K/golden/prompts.json.
QJsonObject storiesGolden();
QVector<qint64> jsonIds(const QJsonValue &array);
// Why the tools the balancer test needs are missing (for QSKIP), empty when they are there.
QString missingBalancerTools();

class Cluster
{
public:
    ~Cluster();

    // s3rver plus the model chunked from ../shared/models/MODEL under s3://surfing/MODEL.
    bool startStorage(const QString &model, QString *error);
    // Replicas of s3://surfing/MODEL, each with `extraArgs`.
    bool startReplicas(int count, const QStringList &extraArgs, QString *error);
    bool startBalancer(QString *error);

    S3rverProcess &storage() { return m_s3; }
    QString chunkDir() const { return m_chunkDir; }
    int replicaCount() const { return int(m_replicas.size()); }
    ServeProcess &replica(int i) { return *m_replicas[size_t(i)].process; }
    int replicaPort(int i) const { return m_replicas[size_t(i)].port; }
    int healthPort(int i) const { return m_replicas[size_t(i)].healthPort; }
    QUrl replicaUrl(int i) const;
    QString replicaList() const; // "ws://127.0.0.1:A,ws://127.0.0.1:B,..."
    QUrl balancerUrl() const;
    int balancerPort() const { return m_balancerPort; }
    bool restartReplica(int i);
    QByteArray balancerLog();

    // A replica's /metrics value (the sum over its label sets), -1 when it does not answer.
    double metric(int replica, const QByteArray &name) const;
    // Chunks served so far and gets received but not yet served (from one /metrics answer),
    // counted from markInFlightBaseline() (gets of files are not chunks served); -1, -1 when the
    // replica does not answer.
    QPair<double, double> servedAndInFlight(int replica) const;
    void markInFlightBaseline();
    // Chunks one replica, and each replica, has served so far (surfing_chunks_served_total).
    double servedBy(int replica) const;
    QVector<double> servedNow() const;
    // Waits until some replica has served `chunks` more than at `before` and holds a get now,
    // and returns it (-1 if `run` ended first).
    int waitForServing(QProcess &run, const QVector<double> &before, double chunks) const;
    // Runs `surfing-cli run --json ARGS`, freezes (SIGSTOP) the first replica that serves
    // `chunks` chunks of it while a get is in flight, and lets it go on (SIGCONT) once the run
    // ended. Returns the run's JSON (or an empty object with `error` set); `victim` is the frozen
    // replica, -1 when the run ended first.
    QJsonObject runWithFrozenReplica(const QStringList &args, double chunks, int *victim, QString *error);
    // Waits until HAProxy sees every replica up (its /healthz through the balancer answers and
    // each replica's does).
    bool waitForAllUp();

private:
    struct Replica {
        std::unique_ptr<ServeProcess> process;
        int port = 0;
        int healthPort = 0;
    };

    S3rverProcess m_s3;
    QTemporaryDir m_work;
    QString m_model;
    QString m_chunkDir;
    std::vector<Replica> m_replicas;
    QStringList m_replicaArgs;
    QProcess m_haproxy;
    int m_balancerPort = 0;
    QVector<double> m_inFlightBase;
};

} // namespace surfing::test
