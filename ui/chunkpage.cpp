#include "chunkpage.h"

#include "base/error.h"
#include "chunkjob.h"
#include "chunktablemodel.h"
#include "droppedpath.h"
#include "format/hubcache.h"
#include "format/modelconfig.h"
#include "formatting.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDirIterator>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTableView>
#include <QVBoxLayout>

namespace surfing::ui {

namespace {

qint64 directoryWeightBytes(const QString &dir)
{
    qint64 total = 0;
    QDirIterator it(dir, {QStringLiteral("*.safetensors"), QStringLiteral("*.bin")}, QDir::Files);
    while (it.hasNext())
        total += QFileInfo(it.next()).size();
    return total;
}

QString defaultOutputRoot()
{
    return QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation) + QStringLiteral("/chunks");
}

} // namespace

ChunkPage::ChunkPage(QWidget *parent)
    : QWidget(parent)
    , m_job(new ChunkJob(this))
    , m_table(new ChunkTableModel(this))
{
    auto *layout = new QVBoxLayout(this);
    auto *top = new QHBoxLayout;
    top->addWidget(buildModelBox(), 3);
    top->addWidget(buildOptionsBox(), 2);
    layout->addLayout(top);
    layout->addWidget(buildProgressBox());

    m_view = new QTableView(this);
    m_view->setModel(m_table);
    m_view->setAlternatingRowColors(true);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->verticalHeader()->hide();
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    layout->addWidget(m_view, 1);

    auto *bottom = new QHBoxLayout;
    m_summary = new QLabel(tr("Drop a model folder anywhere on this window, or use Open model… (Ctrl+O)."), this);
    m_serve = new QPushButton(tr("Serve these chunks"), this);
    m_serve->setEnabled(false);
    bottom->addWidget(m_summary, 1);
    bottom->addWidget(m_serve);
    layout->addLayout(bottom);

    connect(m_job, &ChunkJob::progressed, this, &ChunkPage::onProgress);
    connect(m_job, &ChunkJob::finished, this, &ChunkPage::onFinished);
    connect(m_job, &ChunkJob::failed, this, &ChunkPage::onFailed);
    connect(m_job, &ChunkJob::cancelled, this, &ChunkPage::onCancelled);
    connect(m_serve, &QPushButton::clicked, this, [this] { Q_EMIT serveRequested(m_chunkDir); });
    setBusy(false);
}

ChunkPage::~ChunkPage() = default;

QWidget *ChunkPage::buildModelBox()
{
    auto *box = new QGroupBox(tr("Model"), this);
    auto *layout = new QVBoxLayout(box);
    m_modelLabel = new QLabel(tr("No model yet — drop a Hugging Face model folder here."), box);
    m_modelLabel->setWordWrap(true);
    m_modelLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_modelInfo = new QLabel(box);
    m_modelInfo->setWordWrap(true);
    auto *buttons = new QHBoxLayout;
    auto *openFolder = new QPushButton(tr("Open folder…"), box);
    auto *openFile = new QPushButton(tr("Open file…"), box);
    buttons->addWidget(openFolder);
    buttons->addWidget(openFile);
    buttons->addStretch(1);
    layout->addWidget(m_modelLabel);
    layout->addWidget(m_modelInfo);
    layout->addStretch(1);
    layout->addLayout(buttons);
    connect(openFolder, &QPushButton::clicked, this, &ChunkPage::openModelFolder);
    connect(openFile, &QPushButton::clicked, this, &ChunkPage::openModelFile);
    return box;
}

QWidget *ChunkPage::buildOptionsBox()
{
    auto *box = new QGroupBox(tr("Options"), this);
    auto *form = new QFormLayout(box);
    m_compress = new QCheckBox(tr("zstd with byte grouping (lossless)"), box);
    m_compress->setObjectName(QStringLiteral("compress"));
    m_level = new QSpinBox(box);
    m_level->setObjectName(QStringLiteral("level"));
    m_level->setRange(1, 19);
    m_level->setValue(3);
    m_dtype = new QComboBox(box);
    m_dtype->addItem(tr("original"), QString());
    m_dtype->addItem(tr("f16 (lossy)"), QStringLiteral("F16"));
    m_dtype->addItem(tr("bf16 (lossy)"), QStringLiteral("BF16"));
    auto *outputRow = new QHBoxLayout;
    m_output = new QLineEdit(box);
    m_output->setPlaceholderText(tr("output chunk folder"));
    auto *browse = new QPushButton(tr("…"), box);
    browse->setToolTip(tr("Choose the output folder"));
    outputRow->addWidget(m_output, 1);
    outputRow->addWidget(browse);
    m_replace = new QCheckBox(tr("Replace an existing output folder"), box);
    m_replace->setChecked(true);
    form->addRow(tr("Compression"), m_compress);
    form->addRow(tr("Level"), m_level);
    form->addRow(tr("Dtype"), m_dtype);
    form->addRow(tr("Output"), outputRow);
    form->addRow(QString(), m_replace);
    connect(m_compress, &QCheckBox::toggled, m_level, &QSpinBox::setEnabled);
    m_level->setEnabled(false);
    connect(browse, &QPushButton::clicked, this, &ChunkPage::browseOutput);
    return box;
}

QWidget *ChunkPage::buildProgressBox()
{
    auto *box = new QWidget(this);
    auto *layout = new QHBoxLayout(box);
    layout->setContentsMargins(0, 0, 0, 0);
    m_start = new QPushButton(tr("Chunk"), box);
    m_start->setObjectName(QStringLiteral("chunk"));
    m_start->setDefault(true);
    m_start->setToolTip(tr("Cut the model into chunks (Ctrl+Return)"));
    m_cancel = new QPushButton(tr("Cancel"), box);
    m_cancel->setObjectName(QStringLiteral("cancel"));
    m_cancel->setToolTip(tr("Stop chunking; nothing is left at the output (Esc)"));
    m_progress = new QProgressBar(box);
    m_progress->setRange(0, 1000);
    m_progress->setValue(0);
    m_progress->setTextVisible(true);
    m_progress->setFormat(QStringLiteral("%p%"));
    m_progressText = new QLabel(box);
    m_progressText->setObjectName(QStringLiteral("progressText"));
    m_progressText->setMinimumWidth(280);
    layout->addWidget(m_start);
    layout->addWidget(m_progress, 1);
    layout->addWidget(m_progressText);
    layout->addWidget(m_cancel);
    connect(m_start, &QPushButton::clicked, this, &ChunkPage::startChunking);
    connect(m_cancel, &QPushButton::clicked, this, &ChunkPage::cancel);
    return box;
}

void ChunkPage::setModelPath(const QString &modelDir)
{
    const ModelConfig config = ModelConfig::load(modelDir);
    m_modelDir = QDir(modelDir).absolutePath();
    m_modelLabel->setText(QStringLiteral("<b>%1</b><br><small>%2</small>")
                              .arg(modelNameOfDir(m_modelDir).toHtmlEscaped(),
                                   QDir::toNativeSeparators(m_modelDir).toHtmlEscaped()));
    QString info = tr("%1 (%2), %3 layers, %4 of weights")
                       .arg(config.modelType, familyName(config.family))
                       .arg(config.numLayers)
                       .arg(formatBytes(directoryWeightBytes(m_modelDir)));
    if (config.numDecoderLayers > 0)
        info += tr(", %1 decoder layers").arg(config.numDecoderLayers);
    m_modelInfo->setText(info);
    const QString current = m_output->text().trimmed();
    const QString root = current.isEmpty() ? defaultOutputRoot() : QFileInfo(current).absolutePath();
    m_output->setText(QDir(root).filePath(modelNameOfDir(m_modelDir)));
    // Nothing of the previous model stays on the page: its table, its "Done" line, its folder.
    m_table->clear();
    m_chunkDir.clear();
    m_progress->setValue(0);
    m_progressText->setText(tr("Ready to chunk"));
    m_summary->setText(tr("<b>%1</b> is not chunked yet: press Chunk (Ctrl+Return).").arg(modelNameOfDir(m_modelDir).toHtmlEscaped()));
    setBusy(false);
    Q_EMIT modelChosen(m_modelDir);
}

void ChunkPage::setOutputDir(const QString &dir)
{
    m_output->setText(dir);
}

QString ChunkPage::outputDir() const
{
    return m_output->text().trimmed();
}

ChunkOptions ChunkPage::options() const
{
    ChunkOptions o;
    o.compress = m_compress->isChecked();
    o.level = m_level->value();
    const QString dtype = m_dtype->currentData().toString();
    if (!dtype.isEmpty())
        o.convertTo = dtypeFromName(dtype);
    o.replaceExisting = m_replace->isChecked();
    return o;
}

void ChunkPage::showChunkDir(const QString &chunkDir)
{
    m_table->setManifest(ChunkManifest::load(chunkDir));
    m_chunkDir = chunkDir;
    m_progress->setValue(0);
    m_progressText->setText(tr("Opened chunk folder"));
    updateSummary();
}

QString ChunkPage::progressText() const
{
    return m_progressText->text();
}

QString ChunkPage::summaryText() const
{
    return m_summary->text();
}

bool ChunkPage::isBusy() const
{
    return m_job->isRunning();
}

void ChunkPage::startChunking()
{
    if (m_job->isRunning())
        return;
    if (m_modelDir.isEmpty()) {
        Q_EMIT errorOccurred(tr("No model to chunk."), tr("Drop a model folder on the window or use Open model… (Ctrl+O)."));
        return;
    }
    if (outputDir().isEmpty()) {
        Q_EMIT errorOccurred(tr("No output folder."), tr("Type or choose where the chunks should go."));
        return;
    }
    const QString output = QDir::cleanPath(QFileInfo(outputDir()).absoluteFilePath());
    for (const QString &dir : std::as_const(m_protected)) {
        if (QDir::cleanPath(QFileInfo(dir).absoluteFilePath()) == output) {
            Q_EMIT errorOccurred(tr("%1 is the folder the running server serves; chunking into it would replace the chunks under it.")
                                     .arg(QDir::toNativeSeparators(output)),
                                 tr("Choose another Output folder on this page, or stop the server on the Server page (Ctrl+R), then press Chunk."));
            return;
        }
    }
    m_table->clear();
    m_chunkDir.clear();
    m_progress->setValue(0);
    m_progressText->setText(tr("Reading %1…").arg(modelNameOfDir(m_modelDir)));
    setBusy(true);
    m_job->start(m_modelDir, outputDir(), options());
    Q_EMIT chunkingStarted();
    Q_EMIT statusMessage(tr("Chunking %1…").arg(modelNameOfDir(m_modelDir)));
}

void ChunkPage::cancel()
{
    m_job->cancel();
}

void ChunkPage::openModelFolder()
{
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open a model folder"), m_modelDir);
    if (dir.isEmpty())
        return;
    try {
        setModelPath(classifyPath(dir).dir);
    } catch (const Error &e) {
        Q_EMIT errorOccurred(e.message(), tr("Pick a folder holding config.json and the weights."));
    }
}

void ChunkPage::openModelFile()
{
    const QString file = QFileDialog::getOpenFileName(this, tr("Open a model file"), m_modelDir,
                                                      tr("Model files (*.safetensors *.bin config.json *.index.json)"));
    if (file.isEmpty())
        return;
    try {
        setModelPath(classifyPath(file).dir);
    } catch (const Error &e) {
        Q_EMIT errorOccurred(e.message(), tr("Pick a weight file that sits next to its config.json."));
    }
}

void ChunkPage::onProgress(const ChunkProgress &p)
{
    if (p.bytesTotal > 0)
        m_progress->setValue(int(1000.0 * double(p.bytesDone) / double(p.bytesTotal)));
    const double seconds = m_job->elapsedSeconds();
    const double rate = seconds > 0 ? double(p.bytesDone) / seconds : 0.0;
    const double left = rate > 0 ? double(p.bytesTotal - p.bytesDone) / rate : -1;
    m_progressText->setText(tr("%1/%2 chunks · %3 · %4 left · %5")
                                .arg(p.chunksDone).arg(p.chunksTotal)
                                .arg(formatRate(rate), formatDuration(left), p.lastChunk));
}

void ChunkPage::onFinished(const ChunkManifest &manifest, const QString &outputDir)
{
    setBusy(false);
    m_progress->setValue(m_progress->maximum());
    const double seconds = m_job->elapsedSeconds();
    m_progressText->setText(tr("Done in %1 · %2").arg(formatDuration(seconds),
                                                      formatRate(seconds > 0 ? manifest.totalRawBytes() / seconds : 0)));
    m_table->setManifest(manifest);
    m_chunkDir = outputDir;
    updateSummary();
    Q_EMIT statusMessage(tr("Chunked %1 into %2").arg(manifest.modelName, outputDir));
    Q_EMIT chunkingFinished(outputDir);
}

void ChunkPage::onFailed(const QString &message)
{
    setBusy(false);
    m_progress->setValue(0);
    m_progressText->setText(tr("Failed"));
    QString action = tr("Fix the file named above and chunk again; nothing was written to the output.");
    if (message.contains(QLatin1String("exists")))
        action = tr("Tick \u201cReplace an existing output folder\u201d or choose another output folder.");
    else if (message.contains(QLatin1String("space"), Qt::CaseInsensitive))
        action = tr("Free some disk space or choose an output folder on another disk.");
    Q_EMIT errorOccurred(tr("Chunking failed: %1").arg(message), action);
}

void ChunkPage::onCancelled()
{
    setBusy(false);
    m_progress->setValue(0);
    m_progressText->setText(tr("Cancelled — nothing was written"));
    Q_EMIT statusMessage(tr("Chunking cancelled"));
}

void ChunkPage::setBusy(bool busy)
{
    m_start->setEnabled(!busy && !m_modelDir.isEmpty());
    m_cancel->setEnabled(busy);
    m_compress->setEnabled(!busy);
    m_level->setEnabled(!busy && m_compress->isChecked());
    m_dtype->setEnabled(!busy);
    m_output->setEnabled(!busy);
    m_replace->setEnabled(!busy);
    m_serve->setEnabled(!busy && !m_chunkDir.isEmpty());
}

void ChunkPage::browseOutput()
{
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Choose where the chunks go"),
                                                          QFileInfo(outputDir()).absolutePath());
    if (!dir.isEmpty())
        m_output->setText(QDir(dir).filePath(m_modelDir.isEmpty() ? QStringLiteral("chunks") : modelNameOfDir(m_modelDir)));
}

void ChunkPage::updateSummary()
{
    const ChunkManifest &m = m_table->manifest();
    const double ratio = m.totalStoredBytes() > 0 ? double(m.totalRawBytes()) / double(m.totalStoredBytes()) : 0;
    m_summary->setText(tr("<b>%1</b> · %2 chunks · %3 stored, %4 raw (%5×) · %6")
                           .arg(m.modelName.toHtmlEscaped()).arg(m.chunks.size())
                           .arg(formatBytes(m.totalStoredBytes()), formatBytes(m.totalRawBytes()))
                           .arg(ratio, 0, 'f', 2)
                           .arg(QDir::toNativeSeparators(m_chunkDir).toHtmlEscaped()));
    m_serve->setEnabled(!m_chunkDir.isEmpty() && !isBusy());
}

void ChunkPage::loadSettings()
{
    QSettings s;
    m_compress->setChecked(s.value(QStringLiteral("chunk/compress"), false).toBool());
    m_level->setValue(s.value(QStringLiteral("chunk/level"), 3).toInt());
    m_dtype->setCurrentIndex(qMax(0, m_dtype->findData(s.value(QStringLiteral("chunk/dtype")).toString())));
    m_replace->setChecked(s.value(QStringLiteral("chunk/replace"), true).toBool());
    m_level->setEnabled(m_compress->isChecked());
}

void ChunkPage::saveSettings() const
{
    QSettings s;
    s.setValue(QStringLiteral("chunk/compress"), m_compress->isChecked());
    s.setValue(QStringLiteral("chunk/level"), m_level->value());
    s.setValue(QStringLiteral("chunk/dtype"), m_dtype->currentData());
    s.setValue(QStringLiteral("chunk/replace"), m_replace->isChecked());
}

} // namespace surfing::ui
