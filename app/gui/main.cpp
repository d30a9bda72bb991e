// `surfing`: the desktop application. `surfing MODEL_DIR` opens with that model ready to chunk.
#include "mainwindow.h"
#include "screenshottour.h"

#include "format/checkpoint.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QFile>
#include <QIcon>
#include <QTextStream>
#include <QTimer>

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    surfing::installTorchBinReader(); // models may come as pytorch_model.bin
    QApplication::setApplicationName(QStringLiteral("surfing"));
    QApplication::setOrganizationName(QStringLiteral("Surfing"));
    QApplication::setApplicationDisplayName(QStringLiteral("Surfing"));
    QApplication::setApplicationVersion(QStringLiteral(SURFING_VERSION));
    QApplication::setDesktopFileName(QStringLiteral("surfing"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Chunk, serve and run transformer models layer by layer."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("MODEL_DIR"), QStringLiteral("A model folder to open, ready to chunk."), QStringLiteral("[MODEL_DIR]"));
    parser.addOption({QStringLiteral("screenshot"), QStringLiteral("Chunk MODEL_DIR, serve it, run two prompts, save a PNG of every page into DIR and quit."), QStringLiteral("DIR")});
    parser.process(app);

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
        window.resize(1360, 860);
        auto *tour = new ScreenshotTour(&window, args.constFirst(), parser.value(QStringLiteral("screenshot")), &app);
        QObject::connect(tour, &ScreenshotTour::done, &app, [](int code) { QCoreApplication::exit(code); });
        QTimer::singleShot(300, tour, &ScreenshotTour::start);
        return app.exec();
    }
    if (!args.isEmpty())
        window.openPath(args.constFirst(), false);
    return app.exec();
}
