// Cuts a Hugging Face model directory into a chunk directory (docs/chunk-format.md).
// The output appears atomically: it is staged in a hidden sibling directory and renamed into
// place only when every chunk and the manifest are written, so a failed, cancelled or killed run
// never leaves a directory that looks complete, and an existing one is replaced whole. Like cp,
// files are not fsynced unless ChunkOptions::sync asks for it (to survive a power cut too).
#pragma once

#include "format/chunkmanifest.h"
#include "format/dtype.h"
#include "format/quant.h"

#include <QString>
#include <atomic>
#include <functional>
#include <optional>

namespace surfing {

struct ChunkOptions {
    bool compress = false;               // zstd with byte grouping
    int level = 3;                       // zstd level 1..19
    std::optional<Dtype> convertTo;      // F16 or BF16: explicit, lossy
    std::optional<quant::QuantType> quantize; // Q8_0 / Q4_0 for 2-D matrices: explicit, lossy
    bool replaceExisting = false;        // replace an existing output directory (atomically)
    int threads = 2;                     // chunks written in parallel
    bool sync = false;                   // fsync files and directories before the output appears
    QString modelName;                   // default: the model directory's name
};

struct ChunkProgress {
    qint64 bytesDone = 0;   // source tensor bytes processed
    qint64 bytesTotal = 0;
    int chunksDone = 0;
    int chunksTotal = 0;
    QString lastChunk;      // the chunk just finished
};

class Chunker
{
public:
    // Called from worker threads, serialised (never two calls at once).
    using ProgressCallback = std::function<void(const ChunkProgress &)>;

    explicit Chunker(ChunkOptions options = {});

    void setProgressCallback(ProgressCallback callback) { m_progress = std::move(callback); }
    // Thread-safe: makes run() stop soon, clean up and throw surfing::Error("cancelled").
    void cancel() { m_cancelled = true; }

    // Throws surfing::Error naming the file or field at fault; nothing is left at `outputDir`.
    ChunkManifest run(const QString &modelPath, const QString &outputDir);

private:
    ChunkOptions m_options;
    ProgressCallback m_progress;
    std::atomic_bool m_cancelled{false};
};

// Files copied beside the chunks when present (config and tokenizer).
const QStringList &companionFileNames();

} // namespace surfing
