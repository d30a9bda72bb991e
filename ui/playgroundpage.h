// The Playground: choose a model and where its weights come from, the client cache budget,
// prefetch depth and sampling, then type a prompt and watch the text stream in. For an encoder
// (BERT) the same prompt box compares sentences instead (one per line).
#pragma once

#include "inference/inferenceoptions.h"
#include "playgroundrequest.h"

#include <QStringList>
#include <QUrl>
#include <QWidget>

class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QTextBrowser;

namespace surfing::ui {

class PlaygroundPage : public QWidget
{
    Q_OBJECT
public:
    explicit PlaygroundPage(QWidget *parent = nullptr);

    // The in-process server's address and models (empty url: stopped), with each model's folder.
    void setLocalServer(const QUrl &url, const QStringList &models, const QStringList &chunkDirs);
    void setRemoteServer(const QUrl &url, const QString &token, const QList<QUrl> &replicas = {});
    void addChunkFolder(const QString &dir);
    void setPrompt(const QString &prompt);
    void setMaxTokens(int tokens);
    void setCacheChunks(int chunks); // 0: no limit

    // The request as entered; throws surfing::Error naming what is missing (the prompt only
    // when `requirePrompt`).
    PlaygroundRequest request(bool requirePrompt = true) const;
    // Hosts a widget of the main window (the memory estimate) under the model setup.
    void addSetupRow(const QString &label, QWidget *widget);
    QString outputText() const;
    bool isRunning() const { return m_running; }

    void loadSettings();
    void saveSettings() const;

public Q_SLOTS:
    void run();
    void appendText(const QString &delta);
    void showOutput(const QString &html); // replaces the output (encoder demo)
    void setRunning(bool running);
    void showStats(const QString &text);

Q_SIGNALS:
    void runRequested(const surfing::ui::PlaygroundRequest &request);
    void setupChanged(); // source, model, cache budgets or prefetch depth
    void stopRequested();
    void errorOccurred(const QString &message, const QString &action);
    void statusMessage(const QString &message);

private:
    QWidget *buildSetup();
    QFormLayout *m_setupForm = nullptr;
    QWidget *buildSampling();
    void updateModels();

    QComboBox *m_source;
    QComboBox *m_model;
    QSpinBox *m_cacheLayers;
    QSpinBox *m_cacheMb;
    QSpinBox *m_prefetch;
    QSpinBox *m_threads;
    QDoubleSpinBox *m_temperature;
    QSpinBox *m_topK;
    QDoubleSpinBox *m_topP;
    QSpinBox *m_maxTokens;
    QSpinBox *m_seed;
    QPlainTextEdit *m_prompt;
    QTextBrowser *m_output;
    QPushButton *m_run;
    QPushButton *m_stop;
    QLabel *m_stats;
    QUrl m_localUrl;
    QStringList m_localModels;
    QStringList m_localDirs;
    QUrl m_remoteUrl;
    QString m_remoteToken;
    QList<QUrl> m_remoteReplicas;
    QStringList m_folders;
    QString m_chosenModel; // kept while the list is empty (server restarting)
    bool m_running = false;
};

} // namespace surfing::ui

Q_DECLARE_METATYPE(surfing::ui::PlaygroundRequest)
