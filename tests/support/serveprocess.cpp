#include "serveprocess.h"

#include "testsupport.h"

#include <QDebug>
#include <QRegularExpression>
#include <csignal>
#include <sys/resource.h>

namespace surfing::test {

bool chunkSharedModel(const QString &model, const QString &outDir, const QStringList &extra)
{
    const QString source = sharedModel(model);
    if (source.isEmpty())
        return false;
    const CliResult r = runCli(QStringList{QStringLiteral("chunk"), source, QStringLiteral("-o"), outDir} + extra);
    if (r.exitCode != 0)
        qWarning() << "chunk failed:" << r.err;
    return r.exitCode == 0;
}

QString makeSelfSignedCertificate(const QString &dir, QString *certFile, QString *keyFile)
{
    *certFile = dir + QStringLiteral("/cert.pem");
    *keyFile = dir + QStringLiteral("/key.pem");
    QProcess openssl;
    openssl.start(QStringLiteral("openssl"),
                  {QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"), QStringLiteral("rsa:2048"),
                   QStringLiteral("-nodes"), QStringLiteral("-days"), QStringLiteral("2"), QStringLiteral("-subj"),
                   QStringLiteral("/CN=127.0.0.1"), QStringLiteral("-addext"), QStringLiteral("subjectAltName=IP:127.0.0.1"),
                   QStringLiteral("-keyout"), *keyFile, QStringLiteral("-out"), *certFile});
    if (!openssl.waitForStarted(kWaitMs))
        return QStringLiteral("cannot run openssl: %1").arg(openssl.errorString());
    if (!openssl.waitForFinished(kWaitMs) || openssl.exitStatus() != QProcess::NormalExit || openssl.exitCode() != 0)
        return QStringLiteral("openssl req failed: %1").arg(QString::fromUtf8(openssl.readAllStandardError()));
    return {};
}

ServeProcess::~ServeProcess()
{
    kill();
}

bool ServeProcess::start(const QStringList &args, int port)
{
    m_args = args;
    m_metricsPort = -1;
    m_process.start(cliPath(), QStringList{QStringLiteral("serve")} + args
                                   + QStringList{QStringLiteral("--port"), QString::number(port)});
    if (!m_process.waitForStarted(kWaitMs))
        return false;
    QByteArray out;
    while (!out.contains('\n')) {
        if (!m_process.waitForReadyRead(kWaitMs)) {
            qWarning() << "serve did not print its URL:" << stderrText();
            return false;
        }
        out += m_process.readAllStandardOutput();
    }
    m_url = QUrl(QString::fromUtf8(out.left(out.indexOf('\n')).trimmed()));
    const QRegularExpressionMatch match =
        QRegularExpression(QStringLiteral("metrics: http://[^:]+:(\\d+)/")).match(QString::fromUtf8(stderrText()));
    if (match.hasMatch())
        m_metricsPort = match.captured(1).toInt();
    return m_url.isValid() && m_url.port() > 0;
}

void ServeProcess::setFileLimit(int descriptors)
{
    m_process.setChildProcessModifier([descriptors] {
        const rlimit limit = {rlim_t(descriptors), rlim_t(descriptors)};
        ::setrlimit(RLIMIT_NOFILE, &limit);
    });
}

bool ServeProcess::restart()
{
    kill();
    return start(m_args, m_url.port());
}

void ServeProcess::kill()
{
    if (m_process.state() == QProcess::NotRunning)
        return;
    m_process.kill();
    m_process.waitForFinished(kWaitMs);
    m_err += m_process.readAllStandardError();
}

int ServeProcess::terminate()
{
    const qint64 pid = m_process.processId();
    if (pid <= 0) // never kill(0): that signals our own process group
        return -1;
    ::kill(pid_t(pid), SIGTERM);
    if (!m_process.waitForFinished(kWaitMs))
        return -1;
    m_err += m_process.readAllStandardError();
    return m_process.exitStatus() == QProcess::NormalExit ? m_process.exitCode() : -1;
}

bool ServeProcess::isRunning() const
{
    return m_process.state() == QProcess::Running;
}

QByteArray ServeProcess::stderrText()
{
    m_err += m_process.readAllStandardError();
    return m_err;
}

} // namespace surfing::test
