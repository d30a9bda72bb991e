// `surfing-cli serve` in its own process for the client tests: start on a port (0: any), read
// the URL it prints, kill it hard (a crash, not a clean stop) and start it again on that port.
#pragma once

#include <QProcess>
#include <QStringList>
#include <QUrl>

namespace surfing::test {

class ServeProcess
{
public:
    ~ServeProcess();
    bool start(const QStringList &args, int port = 0);
    bool restart(); // same arguments, same port
    void kill();
    QUrl url() const { return m_url; }
    QByteArray stderrText();

private:
    QProcess m_process;
    QStringList m_args;
    QUrl m_url;
    QByteArray m_err;
};

// Chunks a shared model with `surfing-cli chunk MODEL -o DIR [extra]`.
bool chunkSharedModel(const QString &model, const QString &outDir, const QStringList &extra = {});

} // namespace surfing::test
