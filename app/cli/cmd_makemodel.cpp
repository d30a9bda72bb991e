// surfing-cli make-model: write a random-weight model for tests, benchmarks and demos.
#include "command.h"

#include "modelgen/randommodel.h"
#include "progressbar.h"

namespace surfing::cli {
namespace {

int intOption(const QCommandLineParser &parser, const QString &name, int min, int max, bool *ok)
{
    const int value = parser.value(name).toInt(ok);
    *ok = *ok && value >= min && value <= max;
    if (!*ok)
        usageError(QStringLiteral("--%1 must be between %2 and %3").arg(name).arg(min).arg(max));
    return value;
}

int runMakeModel(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.addOptions({
        {{QStringLiteral("o"), QStringLiteral("output")}, QStringLiteral("Directory to write (config.json + model.safetensors)."), QStringLiteral("DIR")},
        {QStringLiteral("family"), QStringLiteral("llama or bert (default llama)."), QStringLiteral("NAME"), QStringLiteral("llama")},
        {QStringLiteral("layers"), QStringLiteral("Transformer layers (default 2)."), QStringLiteral("N"), QStringLiteral("2")},
        {QStringLiteral("hidden"), QStringLiteral("Hidden size (default 64)."), QStringLiteral("N"), QStringLiteral("64")},
        {QStringLiteral("intermediate"), QStringLiteral("MLP size (default 172)."), QStringLiteral("N"), QStringLiteral("172")},
        {QStringLiteral("heads"), QStringLiteral("Attention heads (default 8)."), QStringLiteral("N"), QStringLiteral("8")},
        {QStringLiteral("kv-heads"), QStringLiteral("Key/value heads, llama (default 4)."), QStringLiteral("N"), QStringLiteral("4")},
        {QStringLiteral("vocab"), QStringLiteral("Vocabulary size (default 512)."), QStringLiteral("N"), QStringLiteral("512")},
        {QStringLiteral("untied"), QStringLiteral("Give llama its own lm_head.")},
        {QStringLiteral("seed"), QStringLiteral("Random seed (default 1)."), QStringLiteral("N"), QStringLiteral("1")},
    });
    const int parsed = parseArguments(parser, arguments,
        QStringLiteral("Write a model with random weights (fixed seed) in Hugging Face layout, for tests and benchmarks.\n"
                       "Example: surfing-cli make-model --layers 24 --hidden 2048 --intermediate 5632 --heads 16 -o big-llama"));
    if (parsed >= 0)
        return parsed;
    if (!parser.isSet(QStringLiteral("output")))
        return usageError(QStringLiteral("make-model needs -o DIR"));
    RandomModelSpec spec;
    const QString family = parser.value(QStringLiteral("family"));
    if (family != QLatin1String("llama") && family != QLatin1String("bert"))
        return usageError(QStringLiteral("--family must be llama or bert"));
    spec.family = family == QLatin1String("bert") ? ModelFamily::Bert : ModelFamily::Llama;
    bool ok = true;
    spec.layers = intOption(parser, QStringLiteral("layers"), 1, 1000, &ok);
    if (ok) spec.hidden = intOption(parser, QStringLiteral("hidden"), 1, 65536, &ok);
    if (ok) spec.intermediate = intOption(parser, QStringLiteral("intermediate"), 1, 262144, &ok);
    if (ok) spec.heads = intOption(parser, QStringLiteral("heads"), 1, 1024, &ok);
    if (ok) spec.kvHeads = intOption(parser, QStringLiteral("kv-heads"), 1, 1024, &ok);
    if (ok) spec.vocab = intOption(parser, QStringLiteral("vocab"), 1, 1 << 22, &ok);
    if (ok) spec.seed = quint64(intOption(parser, QStringLiteral("seed"), 0, 1 << 30, &ok));
    if (!ok)
        return ExitUsage;
    if (spec.hidden % spec.heads != 0 || spec.heads % spec.kvHeads != 0)
        return usageError(QStringLiteral("--hidden must be a multiple of --heads, and --heads of --kv-heads"));
    spec.tiedEmbeddings = !parser.isSet(QStringLiteral("untied"));
    writeRandomModel(spec, parser.value(QStringLiteral("output")));
    printOut(QStringLiteral("%1: %2 model, %3 layers, %4 of weights").arg(parser.value(QStringLiteral("output")), family)
                 .arg(spec.layers).arg(formatBytes(randomModelBytes(spec))));
    return ExitSuccess;
}

} // namespace

SURFING_CLI_COMMAND(makemodel, "make-model", "Write a random-weight model (tests, benchmarks, demos).", runMakeModel);

} // namespace surfing::cli
