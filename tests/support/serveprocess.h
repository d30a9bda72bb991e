// `surfing-cli serve` in its own process, for the server and client suites: start on a port
// (0: any) and read the URL it prints; stop it cleanly (SIGTERM) or kill it hard (a crash) and
// start it again on the same port. Also chunking a shared model and making a TLS certificate.
#pragma once

#include <QProcess>
#include <QStringList>
#include <QUrl>

namespace surfing::test {

// Generous bound on any single wait; reaching it fails the test (it is not a timing check).
constexpr int kWaitMs = 120000;

class ServeProcess
{
public:
    ~ServeProcess();
    // Starts `surfing-cli serve ARGS --port PORT` and waits for the URL line on stdout.
    bool start(const QStringList &args, int port = 0);
    bool restart(); // same arguments, same port
    // Before start(): the process may open at most this many descriptors (RLIMIT_NOFILE).
    void setFileLimit(int descriptors);
    void kill();
    // Sends SIGTERM and waits; returns the exit code (-1 if it did not exit normally).
    int terminate();
    bool isRunning() const;
    QUrl url() const { return m_url; }
    int metricsPort() const { return m_metricsPort; } // with --metrics-port
    qint64 processId() const { return m_process.processId(); }
    QByteArray stderrText();

private:
    QProcess m_process;
    QStringList m_args;
    QUrl m_url;
    int m_metricsPort = -1;
    QByteArray m_err;
};

// Chunks a shared model with `surfing-cli chunk MODEL -o DIR [extra]`; false (with a warning)
// when the model is missing or chunking fails.
bool chunkSharedModel(const QString &model, const QString &outDir, const QStringList &extra = {});

// A self-signed certificate for 127.0.0.1 and its unencrypted key, made with `openssl req`
// into `dir` (cert.pem, key.pem). Returns an error message, empty on success.
QString makeSelfSignedCertificate(const QString &dir, QString *certFile, QString *keyFile);

} // namespace surfing::test
