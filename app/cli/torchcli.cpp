#include "torchcli.h"

#include "command.h"

#include "base/blastuning.h"

#include <QCoreApplication>
#include <QFileInfo>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unistd.h>

namespace surfing::cli {
namespace {

char **originalArgv = nullptr;

QString torchCliPath()
{
    const QString dir = QCoreApplication::applicationDirPath();
    for (const QString &candidate : {dir + QStringLiteral("/surfing-cli-torch"),
                                     dir + QStringLiteral("/../lib/surfing/surfing-cli-torch")}) {
        if (QFileInfo(candidate).isExecutable())
            return QFileInfo(candidate).canonicalFilePath();
    }
    return {};
}

} // namespace

void rememberArguments(int, char *argv[])
{
    originalArgv = argv;
}

char **originalArguments()
{
    return originalArgv;
}

int execTorchCli()
{
    const QString path = torchCliPath();
    if (path.isEmpty()) {
        printErr(QStringLiteral("surfing-cli: this command needs surfing-cli-torch, which is not installed "
                                "beside %1 or in ../lib/surfing/").arg(QCoreApplication::applicationDirPath()));
        return ExitFailure;
    }
    // libgomp's worker threads spin for a while after every parallel region by default. Where
    // the cores are shared (with the network thread, the verifier, other programs) the spinning
    // takes the CPU the others need: on a loaded 2-core machine `run` of the 1 GB model decoded
    // 5x faster with passive waiting, fully cached or streaming (docs/benchmarks-bounded.md).
    // libgomp reads this when it is loaded, so it is set before the exec; a user's value wins.
    if (qEnvironmentVariableIsEmpty("OMP_WAIT_POLICY"))
        qputenv("OMP_WAIT_POLICY", "PASSIVE");
    std::fflush(stdout);
    std::fflush(stderr);
    preferFastOpenBlasKernels();
    const QByteArray file = path.toLocal8Bit();
    ::execv(file.constData(), originalArgv);
    printErr(QStringLiteral("surfing-cli: cannot start %1: %2").arg(path, QString::fromLocal8Bit(std::strerror(errno))));
    return ExitFailure;
}

} // namespace surfing::cli
