// Helpers shared by the test suites: where the reference models are, running surfing-cli.
#pragma once

#include <QByteArray>
#include <QHash>
#include <QJsonObject>
#include <QJsonValue>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QVector>

#include <functional>

namespace surfing::test {

// ../shared/models (from SURFING_SHARED_MODELS); QSKIP-worthy empty string when absent.
QString sharedModelsDir();
QString sharedModel(const QString &name);

// Path of the built surfing-cli (from SURFING_CLI).
QString cliPath();

struct CliResult {
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

// Runs surfing-cli with arguments and waits (no time limit beyond the ctest timeout).
CliResult runCli(const QStringList &args, const QString &workingDir = {});

// `surfing-cli make-model MAKE_MODEL_ARGS -o DIR/model`, then `chunk DIR/model -o DIR/chunks`.
// Returns the chunk directory; empty, with the failing command's stderr in `error`, on failure.
QString makeChunkedModel(const QString &dir, const QStringList &makeModelArgs, QByteArray *error);
// make-model arguments for a 2-layer model whose layers are 16 MiB each: large enough for the
// server to send them by reference, and for a reader thread to be busy hashing one.
QStringList sixteenMiBLayerModelArgs();

// Reads a whole file; empty on failure.
QByteArray readFile(const QString &path);
// `n` bytes of a fixed pseudo-random sequence.
QByteArray randomBytes(qint64 n, quint32 seed);
// The message of the surfing::Error `f` throws; empty when it throws none.
QString errorOf(const std::function<void()> &f);
// The first number of `field` in a /proc status file ("VmHWM:\t 1234 kB" -> 1234); -1 if unreadable.
qint64 procStatusValue(const QString &statusFile, const char *field);
// A JSON file's top-level object (goldens); empty on failure.
QJsonObject readJsonObject(const QString &path);
// A JSON array of token ids.
QVector<qint64> idsFromJson(const QJsonValue &array);

// A Hugging Face hub cache entry as huggingface_hub writes it: each of FILES (name -> bytes) in
// CACHE/models--ORG--NAME/blobs/<sha256>, linked from snapshots/COMMIT/<name> by a relative link;
// with setMain, refs/main names COMMIT. Returns the snapshot folder.
QString addHubSnapshot(const QString &cache, const QString &repoId, const QString &commit,
                       const QHash<QString, QByteArray> &files, bool setMain = true);
// The files of a shared model, for addHubSnapshot.
QHash<QString, QByteArray> sharedModelFiles(const QString &model);

} // namespace surfing::test
