// The Playground: choose a model and where its weights come from, the client cache budget,
// prefetch depth and sampling, then chat with it (ChatPanel): each prompt and reply kept, the
// model's chat template applied. For an encoder (BERT) the prompt box compares sentences instead
// (one per line); a model without a tokenizer takes token ids.
#pragma once

#include "chat/chatmodelinfo.h"
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

namespace surfing::ui {

class ChatPanel;

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
    // Puts the cursor in Max new tokens with its value selected, ready to be typed over.
    void focusMaxTokens();
    void setCacheChunks(int chunks); // 0: no limit
    ChatPanel *chatPanel() const { return m_chatPanel; }
    QWidget *samplingBox() const { return m_samplingBox; }
    QLabel *contextNote() const { return m_contextNote; }

    // The request as entered; throws surfing::Error naming what is missing (the prompt box's
    // text only when `requirePrompt`: a chat turn brings its own prompt).
    PlaygroundRequest request(bool requirePrompt = true) const;
    // Hosts a widget of the main window (the memory estimate) under the model setup.
    void addSetupRow(const QString &label, QWidget *widget);
    QString outputText() const; // the conversation as plain text
    bool isRunning() const { return m_running; }
    // A sent turn that did not run after all (declined before it started): it leaves the
    // conversation and its prompt goes back into the box.
    void withdrawLastTurn();

    void loadSettings();
    void saveSettings() const;

public Q_SLOTS:
    void run();
    void regenerate(int turn);
    void setRunning(bool running);
    void showStats(const QString &text);
    // What the opened model is (from its files); also read from a chunk folder when one is chosen.
    void setModelInfo(const surfing::ChatModelInfo &info);

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
    void updateModelInfo();
    void updateContextNote();
    bool send(const QString &prompt, int turn);

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
    QWidget *m_samplingBox;
    QLabel *m_contextNote;
    ChatPanel *m_chatPanel;
    QPlainTextEdit *m_prompt;
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
