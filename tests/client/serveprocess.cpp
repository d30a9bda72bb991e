#include "serveprocess.h"

#include "testsupport.h"

#include <QDebug>

namespace surfing::test {

namespace {
constexpr int kWaitMs = 120000; // a bound on a hung process, not a timing check
}

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

ServeProcess::~ServeProcess()
{
    kill();
}

bool ServeProcess::start(const QStringList &args, int port)
{
    m_args = args;
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
    return m_url.isValid() && m_url.port() > 0;
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

QByteArray ServeProcess::stderrText()
{
    m_err += m_process.readAllStandardError();
    return m_err;
}

} // namespace surfing::test
