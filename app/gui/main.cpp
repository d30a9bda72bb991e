// `surfing`: the desktop application. `surfing MODEL_DIR` opens with that model ready to chunk
// (the desktop entry's "Open with Surfing" on a folder), `surfing --serve DIR` chunks it if it is
// a model and serves it.
#include "mainwindow.h"
#include "screenshottour.h"

#include "format/checkpoint.h"
#include "inference/blasinfo.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QFile>
#include <QIcon>
#include <QLoggingCategory>
#include <QTextStream>
#include <QScreen>
#include <QTimer>
#include <optional>

namespace {

void describeApplication()
{
    QCoreApplication::setApplicationName(QStringLiteral("surfing"));
    QCoreApplication::setOrganizationName(QStringLiteral("Surfing"));
    QCoreApplication::setApplicationVersion(QStringLiteral(SURFING_VERSION));
}

void addOptions(QCommandLineParser &parser)
{
    parser.setApplicationDescription(QStringLiteral("Chunk, serve and run transformer models layer by layer.\n"
                                                    "Without a display, use surfing-cli (surfing-cli --help)."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("MODEL_DIR"), QStringLiteral("A model folder to open, ready to chunk, a chunk folder, or a hub name ORG/NAME "
                                                                       "already in the local Hugging Face cache ($HF_HUB_CACHE, $HF_HOME/hub or "
                                                                       "~/.cache/huggingface/hub; nothing is downloaded)."), QStringLiteral("[MODEL_DIR]"));
    parser.addOption({QStringLiteral("serve"), QStringLiteral("Serve MODEL_DIR at once (chunking it first when it is a model) and open the Playground.")});
    parser.addOption({QStringLiteral("screenshot"), QStringLiteral("Chunk MODEL_DIR, serve it, run three prompts, save a PNG of every page into DIR and quit."), QStringLiteral("DIR")});
    parser.addOption({QStringLiteral("size"), QStringLiteral("With --screenshot: the window size (default: the screen's available size)."), QStringLiteral("WxH")});
    parser.addOption({QStringLiteral("verbose"), QStringLiteral("Log what happens, step by step (default: warnings and errors only).")});
}

// QApplication aborts without a display, so --help and --version (asked over SSH, say) are
// answered by a QCoreApplication first, and a missing display is a clear error, not a crash.
std::optional<int> answerWithoutDisplay(int argc, char **argv)
{
    for (int i = 1; i < argc; ++i) {
        const QByteArray arg(argv[i]);
        if (arg == "-h" || arg == "--help" || arg == "--help-all" || arg == "-v" || arg == "--version") {
            QCoreApplication app(argc, argv);
            describeApplication();
            QCommandLineParser parser;
            addOptions(parser);
            parser.process(app); // prints and exits
            return 0;
        }
    }
    const bool platformChosen = !qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM");
    if (!platformChosen && qEnvironmentVariableIsEmpty("DISPLAY") && qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY")) {
        QTextStream(stderr) << "surfing: no display to open a window on (DISPLAY and WAYLAND_DISPLAY are not set).\n"
                               "Over SSH, use the command line tool instead: surfing-cli --help" << Qt::endl;
        return 1;
    }
    return std::nullopt;
}

} // namespace

int main(int argc, char **argv)
{
    if (const std::optional<int> answered = answerWithoutDisplay(argc, argv))
        return *answered;
    surfing::restartForFastBlasKernels(argv);
    QApplication app(argc, argv);
    surfing::installTorchBinReader(); // models may come as pytorch_model.bin
    describeApplication();
    QApplication::setApplicationDisplayName(QStringLiteral("Surfing"));
    QApplication::setDesktopFileName(QStringLiteral("io.github.surfing.Surfing"));

    QCommandLineParser parser;
    addOptions(parser);
    parser.process(app);
    // Debug lines (one per cache eviction, fetch, ...) only when asked; QT_LOGGING_RULES still wins.
    if (!parser.isSet(QStringLiteral("verbose")))
        QLoggingCategory::setFilterRules(QStringLiteral("surfing.*.debug=false\nsurfing.*.info=false"));

    surfing::ui::MainWindow window;
    QFile style(QStringLiteral(":/surfing/styles/surfing.qss"));
    if (style.open(QIODevice::ReadOnly))
        app.setStyleSheet(QString::fromUtf8(style.readAll()));
    window.show();
    const QStringList args = parser.positionalArguments();
    if (parser.isSet(QStringLiteral("screenshot"))) {
        if (args.isEmpty()) {
            QTextStream(stderr) << "surfing: --screenshot needs a MODEL_DIR" << Qt::endl;
            return 2;
        }
        const QStringList size = parser.value(QStringLiteral("size")).split(QLatin1Char('x'));
        const int width = size.value(0).toInt(), height = size.value(1).toInt();
        if (parser.isSet(QStringLiteral("size")) && width >= 640 && height >= 480)
            window.resize(width, height);
        else
            window.resize(window.screen()->availableGeometry().size()); // the screen's size: xvfb-run -s "-screen 0 WxHx24"
        auto *tour = new ScreenshotTour(&window, args.constFirst(), parser.value(QStringLiteral("screenshot")), &app);
        QObject::connect(tour, &ScreenshotTour::done, &app, [](int code) { QCoreApplication::exit(code); });
        QTimer::singleShot(300, tour, &ScreenshotTour::start);
        return app.exec();
    }
    if (parser.isSet(QStringLiteral("serve")) && args.isEmpty()) {
        QTextStream(stderr) << "surfing: --serve needs a MODEL_DIR or a chunk folder" << Qt::endl;
        return 2;
    }
    if (!args.isEmpty()) {
        if (parser.isSet(QStringLiteral("serve")))
            window.openAndServe(args.constFirst());
        else
            window.openPath(args.constFirst(), false);
    }
    return app.exec();
}
