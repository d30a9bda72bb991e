// surfing-cli serve: runs a weight server headless until SIGINT/SIGTERM.
#include "command.h"

#include "base/error.h"
#include "metrics/metricsendpoint.h"
#include "server/weightserver.h"
#include "storage/openstorage.h"

#include <QCoreApplication>
#include <QSocketNotifier>
#include <QUrl>

#include <csignal>
#include <sys/socket.h>
#include <unistd.h>

namespace surfing::cli {

namespace {

int g_signalFds[2] = {-1, -1};

void onSignal(int)
{
    const char byte = 1;
    [[maybe_unused]] const ssize_t n = ::write(g_signalFds[0], &byte, 1);
}

// Signals only write a byte to a socket pair; the event loop reads it and quits cleanly.
void installSignalHandlers(QObject *context)
{
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, g_signalFds) != 0)
        throw Error(QStringLiteral("cannot create the signal socket pair"));
    auto *notifier = new QSocketNotifier(g_signalFds[1], QSocketNotifier::Read, context);
    QObject::connect(notifier, &QSocketNotifier::activated, context, [notifier] {
        char byte;
        [[maybe_unused]] const ssize_t n = ::read(g_signalFds[1], &byte, 1);
        notifier->setEnabled(false);
        QCoreApplication::quit();
    });
    struct sigaction action = {};
    action.sa_handler = onSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    // A client that vanishes mid-write must cost an error on its socket, not the server.
    std::signal(SIGPIPE, SIG_IGN);
}

struct NumberOption {
    const char *name;
    double min;
    double max;
};

bool readNumber(const QCommandLineParser &parser, const NumberOption &option, double *value, QString *error)
{
    if (!parser.isSet(QLatin1String(option.name)))
        return true;
    bool ok = false;
    const double v = parser.value(QLatin1String(option.name)).toDouble(&ok);
    if (!ok || v < option.min || v > option.max) {
        *error = QStringLiteral("--%1 must be a number in %2..%3, not '%4'")
                     .arg(QLatin1String(option.name)).arg(option.min).arg(option.max).arg(parser.value(QLatin1String(option.name)));
        return false;
    }
    *value = v;
    return true;
}

void addOptions(QCommandLineParser &parser)
{
    parser.addPositionalArgument(QStringLiteral("CHUNKS_DIR"), QStringLiteral("Chunk directories to serve (one model each, named by its model_name)."), QStringLiteral("CHUNKS_DIR..."));
    parser.addOptions({
        {QStringLiteral("host"), QStringLiteral("Address to bind (default 127.0.0.1; 0.0.0.0 for every interface)."), QStringLiteral("ADDRESS"), QStringLiteral("127.0.0.1")},
        {QStringLiteral("port"), QStringLiteral("TCP port (default 8765; 0 picks a free one)."), QStringLiteral("PORT"), QStringLiteral("8765")},
        {QStringLiteral("cache-mb"), QStringLiteral("Server chunk cache budget in MiB (default 512)."), QStringLiteral("MB"), QStringLiteral("512")},
        {QStringLiteral("token"), QStringLiteral("Require this token in every client's hello."), QStringLiteral("TOKEN")},
        {QStringLiteral("tls-cert"), QStringLiteral("PEM certificate: serve wss:// (needs --tls-key)."), QStringLiteral("FILE")},
        {QStringLiteral("tls-key"), QStringLiteral("PEM private key (unencrypted) for --tls-cert."), QStringLiteral("FILE")},
        {QStringLiteral("metrics-port"), QStringLiteral("Serve /healthz and /metrics over HTTP on this port (0 picks a free one)."), QStringLiteral("PORT")},
        {QStringLiteral("metrics-host"), QStringLiteral("Address for --metrics-port (default 127.0.0.1; the endpoint has no authentication)."), QStringLiteral("ADDRESS"), QStringLiteral("127.0.0.1")},
        {QStringLiteral("max-connections"), QStringLiteral("Refuse connections beyond this many (default 256)."), QStringLiteral("N"), QStringLiteral("256")},
        {QStringLiteral("rate-limit-rps"), QStringLiteral("Per connection: at most this many requests per second (default: no limit)."), QStringLiteral("RPS")},
        {QStringLiteral("rate-limit-mbps"), QStringLiteral("Per connection: at most this many megabits per second of chunks (default: no limit)."), QStringLiteral("MBPS")},
        {QStringLiteral("idle-timeout"), QStringLiteral("Close connections idle this many seconds (default 300; 0: never). A connection whose "
                                                        "client takes none of its replies for as long counts as idle."), QStringLiteral("SECONDS"), QStringLiteral("300")},
        {QStringLiteral("handshake-timeout"), QStringLiteral("Close connections that have not finished TLS, the WebSocket upgrade and hello within "
                                                             "this many seconds (default 10; 0: never). Until then they count against --max-connections."),
         QStringLiteral("SECONDS"), QStringLiteral("10")},
        {QStringLiteral("send-buffer-mb"), QStringLiteral("Per connection: MiB of chunks held for sending (loading or being sent) before the server "
                                                          "takes no more of its requests until it drains (default 64)."), QStringLiteral("MB"), QStringLiteral("64")},
        {QStringLiteral("total-send-buffer-mb"), QStringLiteral("The same over all connections; gets beyond it wait (default: the larger of --cache-mb "
                                                                "and twice --send-buffer-mb)."), QStringLiteral("MB")},
        {QStringLiteral("storage-check-interval"), QStringLiteral("Probe the storage this often, in seconds (default 0.5). While a probe fails, "
                                                                  "/healthz answers 503 and new sessions are refused."), QStringLiteral("SECONDS")},
        {QStringLiteral("storage-check-timeout"), QStringLiteral("A storage probe unanswered after this many seconds, while no read was answered either, counts as failed (default 3)."),
         QStringLiteral("SECONDS")},
        {QStringLiteral("limit-mbps"), QStringLiteral("Pace the whole server's sending to this many megabits per second (default: no limit)."), QStringLiteral("MBPS")},
        {QStringLiteral("s3-endpoint"), QStringLiteral("For s3:// locations: the S3 endpoint, http(s)://HOST[:PORT] (default AWS_ENDPOINT_URL, else AWS)."), QStringLiteral("URL")},
        {QStringLiteral("s3-region"), QStringLiteral("For s3:// locations: the region (default AWS_REGION, else us-east-1)."), QStringLiteral("REGION")},
        {QStringLiteral("s3-path-style"), QStringLiteral("For s3:// locations: path-style addressing (HOST/BUCKET/KEY) instead of virtual-hosted.")},
    });
}

// The --s3-* options travel as options of each s3:// location (see storage/s3location.h).
QString withS3Options(const QString &location, const QCommandLineParser &parser)
{
    if (!location.startsWith(QLatin1String("s3://"), Qt::CaseInsensitive))
        return location;
    QStringList options;
    const auto add = [&](const char *name, const QString &value) {
        options << QLatin1String(name) + QLatin1Char('=') + QString::fromLatin1(QUrl::toPercentEncoding(value));
    };
    if (parser.isSet(QStringLiteral("s3-endpoint")))
        add("endpoint", parser.value(QStringLiteral("s3-endpoint")));
    if (parser.isSet(QStringLiteral("s3-region")))
        add("region", parser.value(QStringLiteral("s3-region")));
    if (parser.isSet(QStringLiteral("s3-path-style")))
        add("addressing", QStringLiteral("path"));
    if (options.isEmpty())
        return location;
    return location + (location.contains(QLatin1Char('?')) ? QLatin1Char('&') : QLatin1Char('?')) + options.join(QLatin1Char('&'));
}

bool readOptions(const QCommandLineParser &parser, WeightServerOptions &o, QString *error)
{
    if (!o.host.setAddress(parser.value(QStringLiteral("host")))) {
        *error = QStringLiteral("--host must be an IP address, not '%1'").arg(parser.value(QStringLiteral("host")));
        return false;
    }
    double port = o.port, cacheMb = double(o.cacheBytes >> 20), maxConnections = o.maxConnections,
           idle = o.idleTimeoutSeconds, handshake = o.handshakeTimeoutSeconds, sendMb = double(o.connectionSendBytes >> 20),
           totalSendMb = 0, checkInterval = o.storageCheckIntervalMs / 1000.0, checkTimeout = o.storageCheckTimeoutMs / 1000.0;
    const bool ok = readNumber(parser, {"port", 0, 65535}, &port, error)
                    && readNumber(parser, {"cache-mb", 0, 1 << 24}, &cacheMb, error)
                    && readNumber(parser, {"max-connections", 1, 100000}, &maxConnections, error)
                    && readNumber(parser, {"rate-limit-rps", 0.001, 1e9}, &o.rateLimitRps, error)
                    && readNumber(parser, {"rate-limit-mbps", 0.001, 1e9}, &o.rateLimitMbps, error)
                    && readNumber(parser, {"idle-timeout", 0, 1e6}, &idle, error)
                    && readNumber(parser, {"limit-mbps", 0.001, 1e9}, &o.limitMbps, error)
                    && readNumber(parser, {"handshake-timeout", 0, 1e6}, &handshake, error)
                    && readNumber(parser, {"send-buffer-mb", 1, 1 << 24}, &sendMb, error)
                    && readNumber(parser, {"total-send-buffer-mb", 1, 1 << 24}, &totalSendMb, error)
                    && readNumber(parser, {"storage-check-interval", 0.05, 3600}, &checkInterval, error)
                    && readNumber(parser, {"storage-check-timeout", 0.05, 3600}, &checkTimeout, error);
    if (!ok)
        return false;
    o.port = quint16(port);
    o.cacheBytes = qint64(cacheMb * 1024 * 1024);
    o.maxConnections = int(maxConnections);
    o.idleTimeoutSeconds = int(idle);
    o.handshakeTimeoutSeconds = int(handshake);
    o.connectionSendBytes = qint64(sendMb * 1024 * 1024);
    o.serverSendBytes = qint64(totalSendMb * 1024 * 1024);
    o.storageCheckIntervalMs = int(checkInterval * 1000);
    o.storageCheckTimeoutMs = int(checkTimeout * 1000);
    o.token = parser.value(QStringLiteral("token"));
    o.tlsCertFile = parser.value(QStringLiteral("tls-cert"));
    o.tlsKeyFile = parser.value(QStringLiteral("tls-key"));
    if (o.tlsCertFile.isEmpty() != o.tlsKeyFile.isEmpty()) {
        *error = QStringLiteral("--tls-cert and --tls-key go together");
        return false;
    }
    return true;
}

int runServe(const QStringList &arguments)
{
    QCommandLineParser parser;
    addOptions(parser);
    if (const int code = parseArguments(parser, arguments,
            QStringLiteral("Serve chunk directories to Surfing clients over WebSocket. Prints the URL when ready; "
                           "SIGINT or SIGTERM stop it.")); code >= 0)
        return code;
    if (parser.positionalArguments().isEmpty())
        return usageError(QStringLiteral("serve needs at least one CHUNKS_DIR"));
    WeightServerOptions options;
    QString error;
    if (!readOptions(parser, options, &error))
        return usageError(error);
    double metricsPort = -1;
    if (!readNumber(parser, {"metrics-port", 0, 65535}, &metricsPort, &error))
        return usageError(error);
    QHostAddress metricsHost;
    if (!metricsHost.setAddress(parser.value(QStringLiteral("metrics-host"))))
        return usageError(QStringLiteral("--metrics-host must be an IP address, not '%1'").arg(parser.value(QStringLiteral("metrics-host"))));

    WeightServer server(options);
    for (const QString &location : parser.positionalArguments())
        server.addModel(std::shared_ptr<ChunkStorage>(openStorage(withS3Options(location, parser))));
    installSignalHandlers(&server);
    server.listen();
    std::unique_ptr<MetricsEndpoint> metrics;
    if (metricsPort >= 0) {
        metrics = std::make_unique<MetricsEndpoint>([&server] { return server.prometheusText(); },
                                                    [&server](Callback<QJsonObject> done) { server.checkHealth(std::move(done)); });
        const quint16 bound = metrics->listen(metricsHost, quint16(metricsPort));
        const bool anyAddress = metricsHost == QHostAddress::Any || metricsHost == QHostAddress::AnyIPv4;
        const QString shownHost = anyAddress ? QStringLiteral("127.0.0.1")
            : metricsHost.protocol() == QAbstractSocket::IPv6Protocol ? QLatin1Char('[') + metricsHost.toString() + QLatin1Char(']')
                                                                      : metricsHost.toString();
        printErr(QStringLiteral("metrics: http://%1:%2/metrics").arg(shownHost).arg(bound));
    }
    printErr(QStringLiteral("serving %1").arg(server.modelNames().join(QLatin1String(", "))));
    printOut(server.url().toString());
    QCoreApplication::exec();
    server.close();
    printErr(QStringLiteral("stopped"));
    return ExitSuccess;
}

} // namespace

SURFING_CLI_COMMAND(serve, "serve", "Serve chunk directories to clients over WebSocket.", runServe);

} // namespace surfing::cli
