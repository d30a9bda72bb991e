#include "s3rverprocess.h"

#include <QDir>
#include <QFileInfo>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QEventLoop>
#include <QStandardPaths>
#include <QThread>

#include <csignal>

namespace surfing::test {
namespace {

QString s3TestDir()
{
    return qEnvironmentVariable("SURFING_SOURCE_DIR") + QStringLiteral("/tests/s3");
}

} // namespace

S3rverProcess::S3rverProcess() = default;

S3rverProcess::~S3rverProcess()
{
    if (m_process.state() != QProcess::NotRunning) {
        resume(); // a stopped process would not see its stdin close
        m_process.closeWriteChannel(); // the launcher exits when stdin closes
        if (!m_process.waitForFinished(5000)) {
            m_process.kill();
            m_process.waitForFinished();
        }
    }
}

bool S3rverProcess::start(const QStringList &buckets, QString *error, const QString &region)
{
    m_buckets = buckets;
    m_region = region;
    m_port = 0;
    return launch(error);
}

bool S3rverProcess::launch(QString *error)
{
    const QString hint = QStringLiteral(" Run scripts/install-deps.sh (it installs node and runs "
                                        "`npm ci` in tests/s3; CI does the same).");
    const QString node = QStandardPaths::findExecutable(QStringLiteral("node"));
    if (node.isEmpty()) {
        *error = QStringLiteral("node is not installed.") + hint;
        return false;
    }
    if (!QFileInfo::exists(s3TestDir() + QStringLiteral("/node_modules/s3rver/package.json"))) {
        *error = QStringLiteral("s3rver is not installed in %1/node_modules.").arg(s3TestDir()) + hint;
        return false;
    }
    QStringList arguments{s3TestDir() + QStringLiteral("/s3server.js"), QStringLiteral("--dir"),
                          m_dir.path(), QStringLiteral("--region"), m_region,
                          QStringLiteral("--port"), QString::number(m_port)};
    for (const QString &bucket : std::as_const(m_buckets))
        arguments << QStringLiteral("--bucket") << bucket;
    m_process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    m_process.start(node, arguments);
    QByteArray line;
    while (!line.endsWith('\n') && m_process.waitForReadyRead(60000))
        line += m_process.readLine();
    if (!line.startsWith("S3RVER_PORT ")) {
        *error = QStringLiteral("s3server.js did not start (output '%1', exit %2).")
                     .arg(QString::fromUtf8(line)).arg(m_process.exitCode()) + hint;
        return false;
    }
    m_port = line.mid(12).trimmed().toInt();
    return m_port > 0;
}

void S3rverProcess::kill()
{
    if (m_process.state() == QProcess::NotRunning)
        return;
    m_process.kill();
    m_process.waitForFinished(60000);
}

bool S3rverProcess::restart(QString *error)
{
    kill();
    // The port was just released; another process could take it, but on loopback in a test
    // run that does not happen in practice. Retry a few times in case it lingers.
    for (int attempt = 0; attempt < 20; ++attempt) {
        if (launch(error))
            return true;
        m_process.waitForFinished(60000);
        QThread::msleep(250);
    }
    return false;
}

bool S3rverProcess::pause()
{
    const qint64 pid = m_process.processId();
    return pid > 0 && ::kill(pid_t(pid), SIGSTOP) == 0;
}

bool S3rverProcess::resume()
{
    const qint64 pid = m_process.processId();
    return pid > 0 && ::kill(pid_t(pid), SIGCONT) == 0;
}

QString S3rverProcess::endpoint() const
{
    return QStringLiteral("http://127.0.0.1:%1").arg(m_port);
}

bool S3rverProcess::injectStatus(const QString &key, int status, int count)
{
    // One multi-argument arg(): a later .arg() would rewrite the "%2F" of the encoded key.
    return control(QStringLiteral("key=%1&status=%2&count=%3")
                       .arg(QString::fromLatin1(QUrl::toPercentEncoding(key)),
                            QString::number(status), QString::number(count)));
}

bool S3rverProcess::injectStall(const QString &key)
{
    return control(QStringLiteral("key=%1&stall=1").arg(QString::fromLatin1(QUrl::toPercentEncoding(key))));
}

bool S3rverProcess::control(const QString &query)
{
    QNetworkAccessManager network;
    QNetworkRequest request(QUrl(endpoint() + QStringLiteral("/__surfing/fault?") + query));
    request.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("text/plain"));
    QNetworkReply *reply = network.post(request, QByteArray());
    QEventLoop loop;
    QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
    loop.exec();
    const bool ok = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt() == 204;
    delete reply;
    return ok;
}

} // namespace surfing::test
