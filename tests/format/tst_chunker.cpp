// Chunking every reference model (single file, sharded, .bin) and reading every tensor back:
// bit for bit equal to the source, or to the explicit dtype cast libtorch makes.
#include "base/error.h"
#include "chunking/chunker.h"
#include "chunking/chunkplanner.h"
#include "chunking/chunkverifier.h"
#include "format/checkpoint.h"
#include "format/safetensors.h"
#include "testsupport.h"

#include <ATen/ATen.h>
#include <QDir>
#include <QSet>
#include <QTemporaryDir>
#include <QtTest>

using namespace surfing;

namespace {

QByteArray castLikeTorch(QByteArrayView f32, Dtype to)
{
    at::Tensor source = at::from_blob(const_cast<char *>(f32.data()), {f32.size() / 4}, at::kFloat);
    at::Tensor cast = source.to(to == Dtype::F16 ? at::kHalf : at::kBFloat16).contiguous();
    return QByteArray(static_cast<const char *>(cast.data_ptr()), qsizetype(cast.nbytes()));
}

const QStringList kModels{"bert-random", "bert-random-sharded", "bert-random-bin", "gpt2-random",
                          "llama-random", "stories260K", "t5-random", "t5v11-random"};

} // namespace

class TestChunker : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    // Core leaves pytorch_model.bin to programs that install libtorch's reader (as surfing-cli-torch
    // and the GUI do); without it the error names the file. Runs first: later tests need the reader.
    void torchBinNeedsItsReader()
    {
        const QString modelDir = test::sharedModel(QStringLiteral("bert-random-bin"));
        if (modelDir.isEmpty())
            QSKIP("../shared/models is not beside the checkout");
        setTorchBinReader(nullptr);
        try {
            Checkpoint::open(modelDir);
            QFAIL("opened a .bin checkpoint without a reader");
        } catch (const TorchBinReaderMissing &e) {
            QVERIFY2(e.message().contains(QLatin1String("pytorch_model.bin")), qPrintable(e.message()));
        }
        installTorchBinReader();
        QCOMPARE(Checkpoint::open(modelDir)->layout(), QStringLiteral("pytorch .bin"));
    }

    void roundTrip_data()
    {
        QTest::addColumn<QString>("model");
        QTest::addColumn<bool>("compress");
        QTest::addColumn<QString>("dtype");
        for (const QString &model : kModels) {
            QTest::newRow(qPrintable(model + "/plain")) << model << false << "f32";
            QTest::newRow(qPrintable(model + "/zstd")) << model << true << "f32";
        }
        for (const QString &model : {QString("stories260K"), QString("t5v11-random")}) {
            QTest::newRow(qPrintable(model + "/bf16")) << model << false << "bf16";
            QTest::newRow(qPrintable(model + "/f16+zstd")) << model << true << "f16";
        }
    }

    void roundTrip()
    {
        QFETCH(QString, model);
        QFETCH(bool, compress);
        QFETCH(QString, dtype);
        const QString modelDir = test::sharedModel(model);
        if (modelDir.isEmpty())
            QSKIP("../shared/models is not beside the checkout");
        QTemporaryDir tmp;
        const QString out = tmp.filePath("chunks");

        ChunkOptions options;
        options.compress = compress;
        if (dtype != "f32")
            options.convertTo = dtype == "bf16" ? Dtype::BF16 : Dtype::F16;
        int progressCalls = 0;
        Chunker chunker(options);
        chunker.setProgressCallback([&](const ChunkProgress &p) { ++progressCalls; QVERIFY(p.bytesDone <= p.bytesTotal); });
        const ChunkManifest manifest = chunker.run(modelDir, out);
        QVERIFY(progressCalls >= manifest.chunks.size());

        const VerifyReport report = verifyChunkDir(out);
        QVERIFY2(report.ok(), qPrintable(report.checks.isEmpty() ? QString() : report.checks.first().problem));

        const auto source = Checkpoint::open(modelDir);
        const ChunkPlan plan = planChunks(ModelConfig::load(modelDir), *source);
        QSet<QString> seen;
        for (const ManifestChunk &chunk : manifest.chunks) {
            const QByteArray raw = checkChunkBytes(chunk, test::readFile(out + "/" + chunk.file), out);
            const SafetensorsHeader header = parseSafetensors(raw, chunk.name);
            for (const ManifestTensor &t : chunk.tensors) {
                QVERIFY2(!seen.contains(t.source), qPrintable(t.source + " is in two chunks"));
                seen.insert(t.source);
                const TensorInfo *info = header.find(t.name);
                QVERIFY(info);
                const QByteArray stored = raw.mid(header.dataOffset + info->begin, info->byteSize());
                const QByteArrayView original = source->data(t.source);
                const bool cast = options.convertTo && source->info(t.source).dtype == Dtype::F32;
                QCOMPARE(info->dtype, cast ? *options.convertTo : source->info(t.source).dtype);
                QVERIFY2(stored == (cast ? castLikeTorch(original, *options.convertTo) : original.toByteArray()),
                         qPrintable(t.source + " differs from the source"));
            }
        }
        QCOMPARE(seen.size() + plan.tiedAliases.size(), source->tensorNames().size());
        for (const QString &name : {QString("config.json")})
            QVERIFY(QFile::exists(out + "/" + name));
    }

    void allLayoutsGiveIdenticalChunks()
    {
        if (test::sharedModel("bert-random").isEmpty())
            QSKIP("../shared/models is not beside the checkout");
        QTemporaryDir tmp;
        QStringList hashes;
        for (const QString &model : {QString("bert-random"), QString("bert-random-sharded"), QString("bert-random-bin")}) {
            ChunkOptions options;
            options.modelName = "bert";
            const ChunkManifest m = Chunker(options).run(test::sharedModel(model), tmp.filePath(model));
            QStringList sums;
            for (const ManifestChunk &c : m.chunks)
                sums << c.name + "=" + c.sha256;
            hashes << sums.join(",");
        }
        QCOMPARE(hashes[1], hashes[0]);
        QCOMPARE(hashes[2], hashes[0]);
    }

    void cancelLeavesNothing()
    {
        if (test::sharedModel("gpt2-random").isEmpty())
            QSKIP("../shared/models is not beside the checkout");
        QTemporaryDir tmp;
        Chunker chunker;
        chunker.setProgressCallback([&](const ChunkProgress &) { chunker.cancel(); });
        bool threw = false;
        try {
            chunker.run(test::sharedModel("gpt2-random"), tmp.filePath("out"));
        } catch (const Error &e) {
            threw = e.message() == "cancelled";
        }
        QVERIFY(threw);
        QCOMPARE(QDir(tmp.path()).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot), QStringList());
    }
};

QTEST_GUILESS_MAIN(TestChunker)
#include "tst_chunker.moc"
