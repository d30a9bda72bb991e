// `surfing-cli run --prompts-file FILE --batch N`: the prompts of FILE generate N at a time, each
// layer fetched once per step for the N of them (InferenceSession::runBatch).
#pragma once

#include <QString>
#include <QVector>
#include <optional>

namespace surfing {
class InferenceSession;
}

namespace surfing::cli {

struct BatchPrompt {
    int line = 0;                        // in the file, from 1
    QString text;                        // a text prompt, or
    std::optional<QVector<qint64>> ids;  // token ids
};

// One prompt per non-empty line; a line starting with '{' is JSON, {"prompt": TEXT} or
// {"ids": [1, 2, 3]}. Throws surfing::Error naming the file and the line.
QVector<BatchPrompt> readPromptsFile(const QString &path);

// Runs the prompts in batches of `batch` and prints the results (one JSON document with --json,
// else one line per prompt) and the stats (stderr). Returns the exit code.
int runPromptBatches(InferenceSession &session, const QVector<BatchPrompt> &prompts, int batch, bool json);

} // namespace surfing::cli
