// Runs tests/s3/s3server.js (s3rver behind a SigV4 checker) on 127.0.0.1 with a random port and
// a temporary directory, for as long as the object lives.
#pragma once

#include <QByteArray>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>

namespace surfing::test {

class S3rverProcess
{
public:
    S3rverProcess();
    ~S3rverProcess();

    // Starts the server with these buckets; on failure returns false and says why (for QFAIL),
    // including "run scripts/install-deps.sh" when node or s3rver is missing.
    bool start(const QStringList &buckets, QString *error, const QString &region = QStringLiteral("us-east-1"));
    // An outage: kill() ends the process (its objects stay in the directory); restart() starts
    // it again on the same port with the same objects. pause()/resume() stop and continue the
    // process (SIGSTOP/SIGCONT): connections are accepted by the kernel but never answered.
    void kill();
    bool restart(QString *error);
    bool pause();
    bool resume();
    int port() const { return m_port; }
    QString endpoint() const; // http://127.0.0.1:PORT

    // The next `count` requests for `key` get HTTP `status`; stall: never answered.
    bool injectStatus(const QString &key, int status, int count);
    bool injectStall(const QString &key);

    static QString accessKey() { return QStringLiteral("S3RVER"); }
    static QString secretKey() { return QStringLiteral("S3RVER"); }

private:
    bool control(const QString &query);

    bool launch(QString *error);

    QTemporaryDir m_dir;
    QProcess m_process;
    QStringList m_buckets;
    QString m_region;
    int m_port = 0;
};

} // namespace surfing::test
