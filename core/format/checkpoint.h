// The tensors of a Hugging Face model directory, whatever file layout holds them:
// model.safetensors, a sharded model.safetensors.index.json, or pytorch_model.bin.
#pragma once

#include "base/error.h"
#include "format/tensorinfo.h"

#include <QByteArrayView>
#include <QHash>
#include <QString>
#include <QStringList>
#include <memory>
#include <vector>

namespace surfing {

class SafetensorsFile;

class Checkpoint
{
public:
    // Opens the weights of MODEL_DIR (or a single .safetensors/.bin file). Throws surfing::Error.
    static std::unique_ptr<Checkpoint> open(const QString &path);
    ~Checkpoint();

    QString layout() const { return m_layout; } // "safetensors", "sharded safetensors", "pytorch .bin"
    QStringList sourceFiles() const { return m_sourceFiles; }
    QStringList tensorNames() const;            // sorted
    bool contains(const QString &name) const { return m_tensors.contains(name); }
    const TensorInfo &info(const QString &name) const { return m_tensors.find(name)->info; }
    QByteArrayView data(const QString &name) const { return m_tensors.find(name)->data; }
    qint64 totalBytes() const;

    // Where a tensor's bytes lie in a file, so they can be copied inside the kernel; offset is -1
    // for tensors that exist only in memory (pytorch .bin).
    struct FileSpan {
        QString file;
        qint64 offset = -1;
    };
    FileSpan fileSpan(const QString &name) const { return m_tensors.find(name)->span; }

    // Used by the readers: record a tensor whose bytes stay valid as long as this object lives.
    void addTensor(const TensorInfo &info, QByteArrayView data, const QString &source, qint64 fileOffset = -1);
    void keepAlive(std::shared_ptr<void> owner) { m_owners.push_back(std::move(owner)); }

private:
    Checkpoint() = default;
    void openSafetensors(const QString &file);
    void openShardIndex(const QString &indexFile);
    void openTorchBin(const QString &file);

    struct Entry {
        TensorInfo info;
        QByteArrayView data;
        FileSpan span;
    };
    QString m_layout;
    QStringList m_sourceFiles;
    QHash<QString, Entry> m_tensors;
    std::vector<std::shared_ptr<void>> m_owners;
};

// pytorch_model.bin (a torch.save zip) can only be read through libtorch, which costs 0.7 s to
// load. So core does not link it: programs that want .bin files call installTorchBinReader()
// (core/format/torchbin.cpp, part of the libtorch-linked surfing_inference library). Without
// it, opening a .bin checkpoint throws TorchBinReaderMissing.
using TorchBinReader = void (*)(const QString &file, Checkpoint &checkpoint);
void setTorchBinReader(TorchBinReader reader);
void installTorchBinReader(); // defined in torchbin.cpp: accepts a dict of tensors (nested) only

class TorchBinReaderMissing : public Error
{
public:
    using Error::Error;
};

} // namespace surfing
