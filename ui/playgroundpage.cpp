#include "playgroundpage.h"

#include "base/error.h"
#include "chatpanel.h"
#include "chatview.h"
#include "format/chunkmanifest.h"

#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QShortcut>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QVBoxLayout>

namespace surfing::ui {

namespace {
enum SourceIndex { LocalServerIndex, RemoteServerIndex, ChunkFolderIndex };
}

PlaygroundPage::PlaygroundPage(QWidget *parent)
    : QWidget(parent)
{
    qRegisterMetaType<surfing::ui::PlaygroundRequest>();
    auto *layout = new QHBoxLayout(this);
    auto *left = new QVBoxLayout;
    left->addWidget(buildSetup());
    left->addWidget(buildSampling());
    left->addStretch(1);
    layout->addLayout(left, 1);

    m_chatPanel = new ChatPanel(this);
    m_prompt = m_chatPanel->promptEdit();
    layout->addWidget(m_chatPanel, 2);

    connect(m_chatPanel, &ChatPanel::runClicked, this, &PlaygroundPage::run);
    connect(m_chatPanel, &ChatPanel::stopClicked, this, &PlaygroundPage::stopRequested);
    connect(m_chatPanel->chatView(), &ChatView::regenerateRequested, this, &PlaygroundPage::regenerate);
    auto *runShortcut = new QShortcut(QKeySequence(QStringLiteral("Ctrl+Return")), m_prompt);
    runShortcut->setContext(Qt::WidgetWithChildrenShortcut);
    connect(runShortcut, &QShortcut::activated, this, &PlaygroundPage::run);
    auto *stopShortcut = new QShortcut(QKeySequence(QStringLiteral("Ctrl+.")), this);
    stopShortcut->setContext(Qt::WidgetWithChildrenShortcut);
    connect(stopShortcut, &QShortcut::activated, this, &PlaygroundPage::stopRequested);
    setRunning(false);
    updateModels();
}

QWidget *PlaygroundPage::buildSetup()
{
    auto *box = new QGroupBox(tr("Model and weights"), this);
    auto *form = new QFormLayout(box);
    m_setupForm = form;
    m_source = new QComboBox(box);
    m_source->addItem(tr("This app's server"));
    m_source->addItem(tr("Remote server"));
    m_source->addItem(tr("Chunk folder (no server)"));
    m_model = new QComboBox(box);
    m_source->setObjectName(QStringLiteral("source"));
    m_model->setObjectName(QStringLiteral("model"));
    m_model->setMinimumContentsLength(18);
    m_model->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_cacheLayers = new QSpinBox(box);
    m_cacheLayers->setRange(0, 10000);
    m_cacheLayers->setSpecialValueText(tr("no limit"));
    m_cacheLayers->setToolTip(tr("Keep at most this many chunks in the client cache"));
    m_cacheMb = new QSpinBox(box);
    m_cacheMb->setRange(0, 1 << 20);
    m_cacheMb->setSuffix(tr(" MiB"));
    m_cacheMb->setSpecialValueText(tr("no limit"));
    m_prefetch = new QSpinBox(box);
    m_prefetch->setObjectName(QStringLiteral("prefetchDepth"));
    m_prefetch->setRange(-1, 64); // -1: auto
    m_prefetch->setSpecialValueText(tr("auto (up to 2)"));
    m_prefetch->setValue(-1);
    m_prefetch->setToolTip(tr("Units fetched ahead of the one computing (0: no prefetch). Auto keeps up to 2 on their way, "
                              "or none when the steps measure faster without: a fast link whose receiving takes the "
                              "cores compute needs"));
    form->addRow(tr("Weights from"), m_source);
    form->addRow(tr("Model"), m_model);
    form->addRow(tr("Cache chunks"), m_cacheLayers);
    form->addRow(tr("Cache budget"), m_cacheMb);
    m_threads = new QSpinBox(box);
    m_threads->setRange(0, 256);
    m_threads->setSpecialValueText(tr("automatic (%1)").arg(defaultComputeThreads()));
    m_threads->setToolTip(tr("Threads that compute (matrix products); the network and the window keep their own"));
    form->addRow(tr("Prefetch depth"), m_prefetch);
    form->addRow(tr("Compute threads"), m_threads);
    connect(m_source, &QComboBox::currentIndexChanged, this, &PlaygroundPage::updateModels);
    connect(m_model, &QComboBox::currentIndexChanged, this, [this] {
        if (!m_model->currentText().isEmpty())
            m_chosenModel = m_model->currentText();
        updateModelInfo();
        Q_EMIT setupChanged();
    });
    for (QSpinBox *spin : {m_cacheLayers, m_cacheMb, m_prefetch})
        connect(spin, &QSpinBox::valueChanged, this, &PlaygroundPage::setupChanged);
    return box;
}

void PlaygroundPage::addSetupRow(const QString &label, QWidget *widget)
{
    m_setupForm->addRow(label, widget);
}

QWidget *PlaygroundPage::buildSampling()
{
    auto *box = new QGroupBox(tr("Sampling"), this);
    m_samplingBox = box;
    auto *form = new QFormLayout(box);
    m_temperature = new QDoubleSpinBox(box);
    m_temperature->setRange(0, 5);
    m_temperature->setSingleStep(0.1);
    m_temperature->setSpecialValueText(tr("0 (greedy)"));
    m_topK = new QSpinBox(box);
    m_topK->setRange(0, 100000);
    m_topK->setSpecialValueText(tr("off"));
    m_topP = new QDoubleSpinBox(box);
    m_topP->setRange(0.01, 1.0);
    m_topP->setSingleStep(0.05);
    m_topP->setValue(1.0);
    m_maxTokens = new QSpinBox(box);
    m_maxTokens->setObjectName(QStringLiteral("maxTokens"));
    m_maxTokens->setRange(1, 1000000); // the model's limit is explained below, not clamped to
    m_maxTokens->setValue(64);
    m_contextNote = new QLabel(box);
    m_contextNote->setObjectName(QStringLiteral("contextNote"));
    m_contextNote->setWordWrap(true);
    connect(m_maxTokens, &QSpinBox::valueChanged, this, &PlaygroundPage::updateContextNote);
    m_seed = new QSpinBox(box);
    m_seed->setRange(0, INT_MAX);
    form->addRow(tr("Temperature"), m_temperature);
    form->addRow(tr("Top-k"), m_topK);
    form->addRow(tr("Top-p"), m_topP);
    form->addRow(tr("Max new tokens"), m_maxTokens);
    form->addRow(m_contextNote);
    form->addRow(tr("Seed"), m_seed);
    return box;
}

void PlaygroundPage::setLocalServer(const QUrl &url, const QStringList &models, const QStringList &chunkDirs)
{
    m_localUrl = url;
    m_localModels = models;
    m_localDirs = chunkDirs;
    if (!url.isEmpty())
        m_source->setCurrentIndex(LocalServerIndex);
    updateModels();
}

void PlaygroundPage::setRemoteServer(const QUrl &url, const QString &token, const QList<QUrl> &replicas)
{
    m_remoteUrl = url;
    m_remoteReplicas = replicas;
    m_remoteToken = token;
    m_source->setCurrentIndex(RemoteServerIndex);
    updateModels();
}

void PlaygroundPage::addChunkFolder(const QString &dir)
{
    if (!m_folders.contains(dir))
        m_folders.append(dir);
    updateModels();
}

void PlaygroundPage::setPrompt(const QString &prompt)
{
    m_prompt->setPlainText(prompt);
}

void PlaygroundPage::setMaxTokens(int tokens)
{
    m_maxTokens->setValue(tokens);
}

void PlaygroundPage::focusMaxTokens()
{
    m_maxTokens->setFocus(Qt::OtherFocusReason);
    m_maxTokens->selectAll();
}

void PlaygroundPage::setCacheChunks(int chunks)
{
    m_cacheLayers->setValue(chunks);
}

void PlaygroundPage::updateModels()
{
    const QString current = m_model->currentText().isEmpty() ? m_chosenModel : m_model->currentText();
    const QSignalBlocker quiet(m_model);
    m_model->clear();
    switch (m_source->currentIndex()) {
    case LocalServerIndex:
        for (const QString &m : m_localModels)
            m_model->addItem(m, m);
        m_model->setPlaceholderText(tr("start the server first"));
        break;
    case RemoteServerIndex:
        m_model->addItem(m_remoteUrl.isEmpty() ? QString() : tr("(server default)"), QString());
        m_model->setPlaceholderText(tr("set a URL on the Server page"));
        break;
    case ChunkFolderIndex:
        for (const QString &dir : m_folders)
            m_model->addItem(QDir(dir).dirName(), dir);
        m_model->setPlaceholderText(tr("chunk a model first"));
        break;
    }
    // With a placeholder set, QComboBox does not select the first item by itself.
    const int again = m_model->findText(current);
    m_model->setCurrentIndex(again >= 0 ? again : (m_model->count() > 0 ? 0 : -1));
    if (!m_model->currentText().isEmpty())
        m_chosenModel = m_model->currentText();
    updateModelInfo();
    Q_EMIT setupChanged();
}

PlaygroundRequest PlaygroundPage::request(bool requirePrompt) const
{
    PlaygroundRequest r;
    r.prompt = m_prompt->toPlainText().trimmed();
    if (r.prompt.isEmpty() && requirePrompt)
        throw Error(tr("The prompt is empty."));
    switch (m_source->currentIndex()) {
    case LocalServerIndex:
        if (m_localUrl.isEmpty() || m_model->currentIndex() < 0)
            throw Error(tr("The local server is not running."));
        r.source = PlaygroundRequest::Source::LocalServer;
        r.serverUrl = m_localUrl;
        r.model = m_model->currentData().toString();
        for (const QString &dir : m_localDirs) { // our own server: config and tokenizer are right here
            try {
                if (ChunkManifest::load(dir).modelName == r.model)
                    r.chunkDir = dir;
            } catch (const Error &) {
            }
        }
        break;
    case RemoteServerIndex:
        if (m_remoteUrl.isEmpty())
            throw Error(tr("No remote server URL."));
        r.source = PlaygroundRequest::Source::RemoteServer;
        r.serverUrl = m_remoteUrl;
        r.replicas = m_remoteReplicas;
        r.token = m_remoteToken;
        break;
    default:
        if (m_model->currentIndex() < 0)
            throw Error(tr("No chunk folder chosen."));
        r.source = PlaygroundRequest::Source::ChunkFolder;
        r.chunkDir = m_model->currentData().toString();
        break;
    }
    r.cacheLayers = m_cacheLayers->value();
    r.cacheBytes = qint64(m_cacheMb->value()) * 1024 * 1024;
    r.options.adaptivePrefetch = m_prefetch->value() < 0;
    r.options.prefetchDepth = r.options.adaptivePrefetch ? InferenceOptions().prefetchDepth : m_prefetch->value();
    r.options.threads = m_threads->value();
    r.options.temperature = m_temperature->value();
    r.options.topK = m_topK->value();
    r.options.topP = m_topP->value();
    r.options.maxNewTokens = m_maxTokens->value();
    r.options.seed = quint64(m_seed->value());
    return r;
}

void PlaygroundPage::run()
{
    const int turn = m_chatPanel->chatView()->turnCount();
    // Sent and not withdrawn (a run declined at once): it is echoed in the conversation.
    if (!m_running && send(m_prompt->toPlainText().trimmed(), turn) && !m_chatPanel->isEncoder()
        && m_chatPanel->chatView()->turnCount() > turn)
        m_prompt->clear();
}

// Runs a reply's prompt again: that turn and the later ones make way for the new reply.
void PlaygroundPage::regenerate(int turn)
{
    ChatView *chat = m_chatPanel->chatView();
    if (m_running || turn < 0 || turn >= chat->turnCount())
        return;
    const QString prompt = chat->promptText(turn);
    chat->truncate(turn);
    send(prompt, turn);
}

bool PlaygroundPage::send(const QString &prompt, int turn)
{
    PlaygroundRequest r;
    try {
        if (prompt.isEmpty())
            throw Error(tr("The prompt is empty."));
        r = request(false); // the prompt is this turn's, checked above
    } catch (const Error &e) {
        QString action = tr("Start the server on the Server page, or pick another source.");
        if (prompt.isEmpty())
            action = tr("Type a prompt first.");
        else if (m_source->currentIndex() == RemoteServerIndex)
            action = tr("Enter the server's URL on the Server page and press \u201cUse in Playground\u201d.");
        else if (m_source->currentIndex() == ChunkFolderIndex)
            action = tr("Chunk a model on the Chunk page first.");
        Q_EMIT errorOccurred(e.message(), action);
        return false;
    }
    m_chatPanel->fillRequest(r, prompt, turn);
    m_chatPanel->beginTurn(prompt);
    Q_EMIT runRequested(r);
    return true;
}

void PlaygroundPage::withdrawLastTurn()
{
    ChatView *chat = m_chatPanel->chatView();
    const int last = chat->turnCount() - 1;
    if (last < 0)
        return;
    const QString prompt = chat->promptText(last);
    chat->truncate(last);
    if (m_prompt->toPlainText().trimmed().isEmpty())
        m_prompt->setPlainText(prompt);
}

QString PlaygroundPage::outputText() const
{
    return m_chatPanel->chatView()->plainText();
}

void PlaygroundPage::setRunning(bool running)
{
    m_running = running;
    m_chatPanel->setRunning(running);
    for (QWidget *w : std::initializer_list<QWidget *>{m_source, m_model, m_cacheLayers, m_cacheMb, m_prefetch, m_threads})
        w->setEnabled(!running);
}

void PlaygroundPage::showStats(const QString &text)
{
    m_chatPanel->showStats(text);
}

// A chunk folder on this disk (a folder source, or the in-process server's) tells what the
// model is before it runs; a remote model is known once opened (setModelInfo).
void PlaygroundPage::updateModelInfo()
{
    QString dir;
    if (m_source->currentIndex() == ChunkFolderIndex) {
        dir = m_model->currentData().toString();
    } else if (m_source->currentIndex() == LocalServerIndex) {
        for (const QString &d : std::as_const(m_localDirs)) {
            try {
                if (ChunkManifest::load(d).modelName == m_model->currentData().toString())
                    dir = d;
            } catch (const Error &) {
            }
        }
    }
    std::optional<ChatModelInfo> info;
    if (!dir.isEmpty()) {
        try {
            info = ChatModelInfo::load(dir);
        } catch (const Error &) {
        }
    }
    m_chatPanel->setModelInfo(info);
    updateContextNote();
}

void PlaygroundPage::setModelInfo(const ChatModelInfo &info)
{
    m_chatPanel->setModelInfo(info);
    updateContextNote();
}

// Sampling means nothing to an encoder; and a reply cannot be longer than the model's positions.
void PlaygroundPage::updateContextNote()
{
    const std::optional<ChatModelInfo> &info = m_chatPanel->modelInfo();
    m_samplingBox->setEnabled(!(info && info->isEncoder));
    m_samplingBox->setToolTip(info && info->isEncoder ? tr("An encoder (BERT) does not generate: nothing to sample") : QString());
    const int context = info && !info->isEncoder ? info->contextLength : 0;
    m_contextNote->setVisible(context > 0);
    if (context <= 0)
        return;
    if (m_maxTokens->value() >= context) {
        m_contextNote->setText(tr("<span style='color:#c0392b'>This model holds %1 tokens (prompt and reply together): "
                                  "%2 new tokens do not fit, a run would be refused. Lower Max new tokens.</span>")
                                   .arg(context).arg(m_maxTokens->value()));
    } else {
        m_contextNote->setText(tr("<small>The model holds %1 tokens: prompt and reply together.</small>").arg(context));
    }
}

void PlaygroundPage::loadSettings()
{
    QSettings s;
    m_prompt->setPlainText(s.value(QStringLiteral("playground/prompt"), tr("Once upon a time")).toString());
    m_cacheLayers->setValue(s.value(QStringLiteral("playground/cacheLayers"), 0).toInt());
    m_cacheMb->setValue(s.value(QStringLiteral("playground/cacheMb"), 0).toInt());
    m_prefetch->setValue(s.value(QStringLiteral("playground/prefetch"), -1).toInt());
    m_threads->setValue(s.value(QStringLiteral("playground/threads"), 0).toInt());
    m_temperature->setValue(s.value(QStringLiteral("playground/temperature"), 0.0).toDouble());
    m_topK->setValue(s.value(QStringLiteral("playground/topK"), 0).toInt());
    m_topP->setValue(s.value(QStringLiteral("playground/topP"), 1.0).toDouble());
    m_maxTokens->setValue(s.value(QStringLiteral("playground/maxTokens"), 64).toInt());
    m_seed->setValue(s.value(QStringLiteral("playground/seed"), 0).toInt());
    m_chosenModel = s.value(QStringLiteral("playground/model")).toString();
    m_source->setCurrentIndex(qBound(0, s.value(QStringLiteral("playground/source"), 0).toInt(), m_source->count() - 1));
    updateModels();
    m_chatPanel->loadSettings();
}

void PlaygroundPage::saveSettings() const
{
    QSettings s;
    s.setValue(QStringLiteral("playground/prompt"), m_prompt->toPlainText());
    s.setValue(QStringLiteral("playground/cacheLayers"), m_cacheLayers->value());
    s.setValue(QStringLiteral("playground/cacheMb"), m_cacheMb->value());
    s.setValue(QStringLiteral("playground/prefetch"), m_prefetch->value());
    s.setValue(QStringLiteral("playground/threads"), m_threads->value());
    s.setValue(QStringLiteral("playground/temperature"), m_temperature->value());
    s.setValue(QStringLiteral("playground/topK"), m_topK->value());
    s.setValue(QStringLiteral("playground/topP"), m_topP->value());
    s.setValue(QStringLiteral("playground/maxTokens"), m_maxTokens->value());
    s.setValue(QStringLiteral("playground/seed"), m_seed->value());
    s.setValue(QStringLiteral("playground/model"), m_chosenModel);
    s.setValue(QStringLiteral("playground/source"), m_source->currentIndex());
    m_chatPanel->saveSettings();
}

} // namespace surfing::ui
