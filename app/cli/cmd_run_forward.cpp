// In the libtorch-free surfing-cli, `run` is handed to surfing-cli-torch (see torchcli.h).
#include "command.h"
#include "torchcli.h"

namespace {

int forwardRun(const QStringList &)
{
    return surfing::cli::execTorchCli();
}

} // namespace

SURFING_CLI_COMMAND(run, "run", surfing::cli::kRunSummary, forwardRun);
