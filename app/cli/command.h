// surfing-cli subcommands: each lives in its own cmd_<name>.cpp and registers itself here.
#pragma once

#include <QCommandLineParser>
#include <QString>
#include <QStringList>
#include <QVector>

namespace surfing::cli {

enum ExitCode { ExitSuccess = 0, ExitFailure = 1, ExitUsage = 2 };

struct Command {
    QString name;
    QString summary; // one line for `surfing-cli --help`
    int (*run)(const QStringList &arguments); // arguments[0] is "surfing-cli <name>"
};

class CommandRegistry
{
public:
    static bool add(const Command &command);
    static const QVector<Command> &all();
};

// Sets up --help (with `description`) and -v/--verbose, parses, and handles --help and usage
// errors. Returns -1 to continue, or the exit code to return.
int parseArguments(QCommandLineParser &parser, const QStringList &arguments, const QString &description);

// Prints "surfing-cli: <message>" to stderr and returns ExitUsage (for a bad argument).
int usageError(const QString &message);

// Writes one line to stdout / stderr (UTF-8, flushed).
void printOut(const QString &text);
void printErr(const QString &text);

} // namespace surfing::cli

#define SURFING_CLI_COMMAND(id, name, summary, function) \
    static const bool surfing_cli_registered_##id = \
        surfing::cli::CommandRegistry::add({QStringLiteral(name), QString::fromUtf8(summary), function})
