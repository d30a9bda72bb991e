// The streaming executor as the GUI and the CLI see it: a model fed by a ChunkSource, run on its
// own worker thread (never on the network thread), with per-token and per-layer signals and the
// original tool's stats. Free of libtorch (pimpl).
//
//   InferenceSession session(source, modelFilesDir);   // config.json (+ tokenizer) live there
//   connect(&session, &InferenceSession::tokenGenerated, ...);
//   session.start(QStringLiteral("Once upon a time"));   // or run() to block
#pragma once

#include "inference/inferenceoptions.h"

#include <QObject>
#include <memory>

namespace surfing {

class ChunkSource;

class InferenceSession : public QObject
{
    Q_OBJECT
public:
    // `modelFilesDir` holds config.json and the tokenizer files (a chunk dir, or a directory the
    // files listed in the manifest were fetched into). Throws surfing::Error on a bad config.
    InferenceSession(std::shared_ptr<ChunkSource> source, const QString &modelFilesDir,
                     QObject *parent = nullptr);
    ~InferenceSession() override;

    void setOptions(const InferenceOptions &options);
    InferenceOptions options() const;
    QString modelType() const;
    bool isDecoder() const;
    bool hasTokenizer() const;
    int contextLength() const; // positions a prompt and its reply must fit in; 0: no fixed limit
    // Why the tokenizer files beside the model could not be loaded (empty when they loaded or
    // there are none): such a model still runs from token ids.
    QString tokenizerError() const;

    // Blocking, on the calling thread (not the network thread). Throw surfing::Error.
    // warmup(): every unit fetched once and one token computed, so the first real run does not
    // pay for libtorch's first-call setup. After cancel() (from any thread) it stops at the next
    // unit and returns false.
    bool warmup();
    InferenceResult run(const QString &prompt);
    InferenceResult runIds(const QVector<qint64> &promptIds);
    // Batch mode (decoders): the prompts generate together, each layer fetched once per step
    // for all of them; each result holds its prompt's ids and text, `stats` the whole batch.
    struct BatchResult {
        QVector<InferenceResult> results;
        InferenceStats stats;
        QVector<LayerEvent> timeline; // of the whole batch: one forward pass per step
    };
    BatchResult runBatch(const QVector<QVector<qint64>> &prompts);
    QVector<qint64> encode(const QString &prompt) const; // throws without a usable tokenizer
    // Writes the last run's final hidden states (and logits for decoders) as safetensors
    // (needs options().keepTensors).
    void dumpTensors(const QString &path) const;

    // Asynchronous: runs on the session's worker thread; results arrive as signals.
    void start(const QString &prompt);
    void startIds(const QVector<qint64> &promptIds);
    void cancel(); // stops after the current token
    bool isRunning() const;

Q_SIGNALS:
    void tokenGenerated(qint64 id, const QString &textDelta);
    void layerEventRecorded(const surfing::LayerEvent &event);
    void finished(const surfing::InferenceResult &result);
    void failed(const QString &message);

private:
    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace surfing

Q_DECLARE_METATYPE(surfing::InferenceResult)
