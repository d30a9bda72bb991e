// The Chunk page: pick or drop a model, choose compression/level/dtype/output, watch progress with
// throughput and time left, cancel, and inspect the chunks that came out.
#pragma once

#include "chunking/chunker.h"

#include <QWidget>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableView;

namespace surfing::ui {

class ChunkJob;
class ChunkTableModel;

class ChunkPage : public QWidget
{
    Q_OBJECT
public:
    explicit ChunkPage(QWidget *parent = nullptr);
    ~ChunkPage() override;

    // Shows the model and proposes an output folder; throws surfing::Error if it is not a model.
    void setModelPath(const QString &modelDir);
    QString modelPath() const { return m_modelDir; }
    void setOutputDir(const QString &dir);
    QString outputDir() const;
    ChunkOptions options() const;

    // Shows an existing chunk directory's manifest in the table.
    void showChunkDir(const QString &chunkDir);
    QString chunkDir() const { return m_chunkDir; }

    bool isBusy() const;
    // Folders chunking must not write into (those the running server serves).
    void setProtectedDirs(const QStringList &dirs) { m_protected = dirs; }
    QString progressText() const;
    QString summaryText() const;
    ChunkTableModel *tableModel() const { return m_table; }
    QProgressBar *progressBar() const { return m_progress; }

    void loadSettings();
    void saveSettings() const;

public Q_SLOTS:
    void startChunking();
    void cancel();
    void openModelFolder();
    void openModelFile();

Q_SIGNALS:
    void errorOccurred(const QString &message, const QString &action);
    void modelChosen(const QString &modelDir);
    void chunkingStarted();
    void chunkingFinished(const QString &chunkDir);
    void serveRequested(const QString &chunkDir);
    void statusMessage(const QString &message);

private:
    QWidget *buildModelBox();
    QWidget *buildOptionsBox();
    QWidget *buildProgressBox();
    void onProgress(const ChunkProgress &progress);
    void onFinished(const ChunkManifest &manifest, const QString &outputDir);
    void onFailed(const QString &message);
    void onCancelled();
    void setBusy(bool busy);
    void browseOutput();
    void updateSummary();

    ChunkJob *m_job;
    ChunkTableModel *m_table;
    QString m_modelDir;
    QString m_chunkDir;
    QLabel *m_modelLabel;
    QLabel *m_modelInfo;
    QCheckBox *m_compress;
    QSpinBox *m_level;
    QComboBox *m_dtype;
    QLineEdit *m_output;
    QCheckBox *m_replace;
    QPushButton *m_start;
    QPushButton *m_cancel;
    QProgressBar *m_progress;
    QLabel *m_progressText;
    QLabel *m_summary;
    QPushButton *m_serve;
    QTableView *m_view;
    QStringList m_protected;
};

} // namespace surfing::ui
