// `surfing --screenshot DIR MODEL_DIR`: drives the real window through the researcher's day
// (chunk the model, start the server, run three prompts) and saves a PNG of every page, for the
// README and for looking at the window under Xvfb. An encoder (BERT) gets the sentence
// comparison instead of text generation. Last, a decoder is asked for more new tokens than it
// holds: the error banner with its fix (playground-context-limit.png).
#pragma once

#include <QObject>
#include <QString>

namespace surfing::ui {
class MainWindow;
}

class ScreenshotTour : public QObject
{
    Q_OBJECT
public:
    ScreenshotTour(surfing::ui::MainWindow *window, const QString &modelDir, const QString &outDir, QObject *parent = nullptr);
    void start();

Q_SIGNALS:
    void done(int exitCode);

private:
    void chunked();
    void serverStarted();
    void runPrompt(const QString &prompt);
    void promptFinished();
    void askForTooManyTokens();
    void shoot(int page, const QString &name);
    void fail(const QString &why);
    bool isEncoder() const;

    surfing::ui::MainWindow *m_window;
    QString m_modelDir;
    QString m_outDir;
    int m_prompts = 0;
};
