// surfing-cli: the headless entry point. Dispatches to the subcommands registered in cmd_*.cpp.
#include "command.h"
#include "torchcli.h"

#include "base/error.h"
#include "format/checkpoint.h"

#include <QCoreApplication>
#include <QLoggingCategory>
#include <algorithm>
#include <cstdio>
#include <exception>
#include <new>

namespace surfing::cli {

bool CommandRegistry::add(const Command &command)
{
    auto &commands = const_cast<QVector<Command> &>(all());
    commands.append(command);
    std::sort(commands.begin(), commands.end(), [](const Command &a, const Command &b) { return a.name < b.name; });
    return true;
}

const QVector<Command> &CommandRegistry::all()
{
    static QVector<Command> commands;
    return commands;
}

void printOut(const QString &text)
{
    std::fputs(text.toUtf8().constData(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

void printErr(const QString &text)
{
    std::fputs(text.toUtf8().constData(), stderr);
    std::fputc('\n', stderr);
    std::fflush(stderr);
}

int usageError(const QString &message)
{
    printErr(QStringLiteral("surfing-cli: %1").arg(message));
    printErr(QStringLiteral("Try 'surfing-cli --help' or 'surfing-cli COMMAND --help'."));
    return ExitUsage;
}

int parseArguments(QCommandLineParser &parser, const QStringList &arguments, const QString &description)
{
    parser.setApplicationDescription(description);
    parser.addHelpOption();
    parser.addOption({{QStringLiteral("v"), QStringLiteral("verbose")}, QStringLiteral("Log what happens, step by step.")});
    if (!parser.parse(arguments))
        return usageError(parser.errorText());
    if (parser.isSet(QStringLiteral("help"))) {
        // Qt names argv[0] in the usage line; say "surfing-cli chunk", which is what one types.
        QString help = parser.helpText();
        help.replace(QStringLiteral("Usage: ") + QCoreApplication::arguments().constFirst(),
                     QStringLiteral("Usage: ") + arguments.constFirst());
        printOut(help);
        return ExitSuccess;
    }
    if (parser.isSet(QStringLiteral("verbose")))
        QLoggingCategory::setFilterRules(QStringLiteral("surfing.*.debug=true"));
    return -1;
}

namespace {

void printOverview()
{
    QString text = QStringLiteral(
        "surfing-cli - stream transformer weights layer by layer.\n\n"
        "Usage: surfing-cli COMMAND [options]\n\nCommands:\n");
    for (const Command &c : CommandRegistry::all())
        text += QStringLiteral("  %1  %2\n").arg(c.name.leftJustified(8), c.summary);
    text += QStringLiteral(
        "\nA typical session:\n"
        "  surfing-cli chunk ./my-model -o ./my-model-chunks --compress\n"
        "  surfing-cli serve ./my-model-chunks --port 8765\n"
        "  surfing-cli run --server ws://127.0.0.1:8765 --prompt \"Once upon a time\"\n\n"
        "'surfing-cli COMMAND --help' explains each command. Exit codes: 0 success, 1 failure, "
        "2 bad usage.");
    printOut(text);
}

} // namespace
} // namespace surfing::cli

int main(int argc, char *argv[])
{
    using namespace surfing::cli;
    rememberArguments(argc, argv);
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("surfing-cli"));
    QCoreApplication::setApplicationVersion(QStringLiteral(SURFING_VERSION));
    QLoggingCategory::setFilterRules(QStringLiteral("surfing.*.debug=false"));

    const QStringList args = app.arguments();
    if (args.size() < 2 || args[1] == QLatin1String("--help") || args[1] == QLatin1String("-h")) {
        printOverview();
        return args.size() < 2 ? ExitUsage : ExitSuccess;
    }
    if (args[1] == QLatin1String("--version")) {
        printOut(QStringLiteral("surfing-cli %1").arg(QLatin1String(SURFING_VERSION)));
        return ExitSuccess;
    }
    for (const Command &command : CommandRegistry::all()) {
        if (command.name != args[1])
            continue;
        QStringList commandArgs = args.mid(2);
        commandArgs.prepend(QStringLiteral("surfing-cli ") + command.name);
        try {
            return command.run(commandArgs);
        } catch (const surfing::TorchBinReaderMissing &) {
            return execTorchCli(); // a pytorch_model.bin input: nothing was written yet
        } catch (const surfing::Error &e) {
            printErr(QStringLiteral("surfing-cli %1: error: %2").arg(command.name, e.message()));
            return ExitFailure;
        } catch (const std::bad_alloc &) {
            printErr(QStringLiteral("surfing-cli %1: error: out of memory (an allocation was refused; is an input larger "
                                    "than this machine's memory or the process's limit, ulimit -v?)").arg(command.name));
            return ExitFailure;
        } catch (const std::exception &e) {
            printErr(QStringLiteral("surfing-cli %1: error: %2").arg(command.name, QString::fromLocal8Bit(e.what())));
            return ExitFailure;
        }
    }
    return usageError(QStringLiteral("unknown command '%1'").arg(args[1]));
}
