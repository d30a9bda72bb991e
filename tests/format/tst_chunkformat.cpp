// Byte grouping, the chunk codec, the manifest parser and the chunk planner.
#include "base/error.h"
#include "base/sha256.h"
#include "client/chunkverifier.h"
#include "chunking/chunkplanner.h"
#include "format/bytegroup.h"
#include "format/checkpoint.h"
#include "format/chunkcodec.h"
#include "format/chunkmanifest.h"
#include "format/safetensors.h"
#include "testsupport.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>
#include <cstring>
#include <utility>
#include <zstd.h>

using namespace surfing;
using namespace surfing::test;

namespace {

void writeModel(const QString &dir, const QJsonObject &config, const QVector<TensorView> &tensors)
{
    QFile c(dir + "/config.json");
    QVERIFY(c.open(QIODevice::WriteOnly));
    c.write(QJsonDocument(config).toJson());
    QFile m(dir + "/model.safetensors");
    QVERIFY(m.open(QIODevice::WriteOnly));
    m.write(serializeSafetensors(tensors));
}

const QJsonObject kTinyLlama{{"model_type", "llama"}, {"num_hidden_layers", 1}, {"tie_word_embeddings", true}};

} // namespace

class TestChunkFormat : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void byteGroupingRoundTrips()
    {
        for (int k : {1, 2, 4, 8}) {
            const QByteArray in = randomBytes(k * 1001, quint32(k));
            QByteArray grouped(in.size(), '\0'), back(in.size(), '\0');
            groupBytes(in.constData(), in.size(), k, grouped.data());
            ungroupBytes(grouped.constData(), grouped.size(), k, back.data());
            QCOMPARE(back, in);
            if (k == 4) { // stream 0 holds byte 0 of each element rotated left by one bit
                quint32 element1;
                std::memcpy(&element1, in.constData() + 4, 4);
                const quint32 rotated = (element1 << 1) | (element1 >> 31);
                QCOMPARE(quint8(grouped[1]), quint8(rotated & 0xff));
                QCOMPARE(quint8(grouped[3 * 1001 + 1]), quint8(rotated >> 24)); // the exponent byte
            }
        }
    }

    void codecRoundTripsAndShrinksFloats()
    {
        QVector<float> values(4096);
        for (int i = 0; i < values.size(); ++i)
            values[i] = float(std::sin(i * 0.01) * 0.02);
        const QByteArray data(reinterpret_cast<const char *>(values.constData()), values.size() * 4);
        const QByteArray file = serializeSafetensors({{"w", Dtype::F32, {4096}, data}, {"i", Dtype::I64, {2}, QByteArray(16, '\7')}});
        const QByteArray stored = encodeChunk(file, ChunkCodec::ZstdByteGroup, 3);
        QVERIFY(stored.size() < file.size());
        QCOMPARE(decodeChunk(stored, ChunkCodec::ZstdByteGroup, file.size(), "c"), file);
        QCOMPARE(decodeChunk(file, ChunkCodec::None, file.size(), "c"), file);
    }

    void codecRejectsHostileInput()
    {
        const QByteArray file = serializeSafetensors({{"w", Dtype::F32, {4}, QByteArray(16, '\1')}});
        const QByteArray stored = encodeChunk(file, ChunkCodec::ZstdByteGroup, 3);
        QVERIFY(errorOf([&] { decodeChunk(stored, ChunkCodec::ZstdByteGroup, file.size() + 1, "layer_0"); }).contains("layer_0: not a zstd frame"));
        QVERIFY(errorOf([&] { decodeChunk("garbage", ChunkCodec::ZstdByteGroup, 7, "layer_0"); }).contains("not a zstd frame"));
        QByteArray corrupt = stored;
        corrupt[corrupt.size() - 3] = char(corrupt[corrupt.size() - 3] ^ 0x55);
        QVERIFY(errorOf([&] { decodeChunk(corrupt, ChunkCodec::ZstdByteGroup, file.size(), "layer_0"); }).contains("layer_0"));
        QVERIFY(errorOf([&] { decodeChunk(file, ChunkCodec::None, file.size() - 1, "x"); }).contains("manifest says"));
    }

    // The decoder scatters the grouped streams as zstd produces them (no grouped copy): every
    // size class, several tensors per class, empty and odd-sized ones, and chunks larger than its
    // 128 KiB window must come back byte for byte.
    void streamingDecodeRestoresEveryDtype()
    {
        const QByteArray f64 = randomBytes(8 * 20001, 1), f32 = randomBytes(4 * 70001, 2), f16 = randomBytes(2 * 90001, 3);
        const QByteArray bf16 = randomBytes(2 * 3, 4), i8 = randomBytes(777, 5), f32b = randomBytes(4 * 5, 6);
        const QByteArray file = serializeSafetensors({{"a_f64", Dtype::F64, {20001}, f64},
                                                      {"b_f32", Dtype::F32, {70001}, f32},
                                                      {"c_f16", Dtype::F16, {90001}, f16},
                                                      {"d_bf16", Dtype::BF16, {3}, bf16},
                                                      {"e_i8", Dtype::I8, {777}, i8},
                                                      {"f_empty", Dtype::F32, {0}, QByteArray()},
                                                      {"g_f32", Dtype::F32, {5}, f32b}});
        for (int level : {1, 3, 19}) {
            const QByteArray stored = encodeChunk(file, ChunkCodec::ZstdByteGroup, level);
            QCOMPARE(decodeChunk(stored, ChunkCodec::ZstdByteGroup, file.size(), "c"), file);
        }
    }

    // The decoded chunk goes into the buffer the caller hands out (a client's pooled buffer),
    // and nowhere else.
    void decodeWritesIntoTheGivenBuffer()
    {
        const QByteArray file = serializeSafetensors({{"w", Dtype::F32, {50000}, randomBytes(200000, 7)}});
        const QByteArray stored = encodeChunk(file, ChunkCodec::ZstdByteGroup, 1);
        QByteArray given(file.size(), Qt::Uninitialized);
        const char *memory = given.constData();
        int calls = 0;
        const QByteArray out = decodeChunk(stored, ChunkCodec::ZstdByteGroup, file.size(), "c", [&](qint64 size) {
            ++calls;
            return size == given.size() ? std::exchange(given, QByteArray()) : QByteArray(size, Qt::Uninitialized);
        });
        QCOMPARE(calls, 1);
        QCOMPARE(out.constData(), memory);
        QCOMPARE(out, file);
    }

    void streamingDecodeRefusesCutAndPaddedFrames()
    {
        const QByteArray file = serializeSafetensors({{"w", Dtype::F32, {50000}, randomBytes(200000, 8)}});
        const QByteArray stored = encodeChunk(file, ChunkCodec::ZstdByteGroup, 1);
        QVERIFY(errorOf([&] { decodeChunk(stored.left(stored.size() - 100), ChunkCodec::ZstdByteGroup, file.size(), "layer_1"); })
                    .contains("layer_1: corrupt zstd data"));
        QVERIFY(errorOf([&] { decodeChunk(stored + QByteArray(5, '\0'), ChunkCodec::ZstdByteGroup, file.size(), "layer_1"); })
                    .contains("layer_1: corrupt zstd data"));
        // A frame whose header length points past the promised size is refused before parsing.
        QByteArray plain = file;
        const quint64 huge = quint64(file.size());
        std::memcpy(plain.data(), &huge, 8);
        QByteArray bad(qsizetype(ZSTD_compressBound(size_t(plain.size()))), Qt::Uninitialized);
        bad.resize(qsizetype(ZSTD_compress(bad.data(), size_t(bad.size()), plain.constData(), size_t(plain.size()), 1)));
        QVERIFY(errorOf([&] { decodeChunk(bad, ChunkCodec::ZstdByteGroup, file.size(), "layer_1"); }).contains("layer_1"));
    }

    void manifestRoundTrips()
    {
        ChunkManifest m;
        m.modelName = "tiny";
        m.modelType = "llama";
        m.family = ModelFamily::Llama;
        m.numLayers = 1;
        m.files = {{"config.json", 11, Sha256::hashHex("{\"x\": 1}\n\n\n")}};
        ManifestChunk c;
        c.name = "layer_0";
        c.kind = "layer";
        c.index = 0;
        c.file = "layer_0.safetensors";
        c.storedBytes = c.rawBytes = 100;
        c.sha256 = Sha256::hashHex("x");
        c.tensors = {{"mlp.up_proj.weight", Dtype::F32, {5, 5}, "model.layers.0.mlp.up_proj.weight"}};
        m.chunks = {c};
        const QByteArray json = m.toJson();
        const ChunkManifest back = ChunkManifest::fromJson(json, "chunk_info.json");
        QCOMPARE(back.toJson(), json);
        QCOMPARE(back.find("layer", 0)->file, QString("layer_0.safetensors"));
        QCOMPARE(back.findFile("config.json")->bytes, 11);
        QCOMPARE(back.findFile("config.json")->sha256, m.files[0].sha256);
        QVERIFY(!back.find("layer", 1));
        // The original tool's fields are kept.
        const QJsonObject root = QJsonDocument::fromJson(json).object();
        QVERIFY(root.value("chunks").toObject().value("layer_0").toObject().contains("size_mb"));
        QVERIFY(root.contains("total_size_mb"));
    }

    void manifestRejectsHostileNames_data()
    {
        QTest::addColumn<QString>("file");
        QTest::newRow("parent") << "../etc/passwd";
        QTest::newRow("absolute") << "/etc/passwd";
        QTest::newRow("nul") << QString("a") + QChar(0) + "b";
        QTest::newRow("long") << QString(300, 'a');
        QTest::newRow("unicode slash") << QString::fromUtf8("a\xe2\x88\x95" "b"); // U+2215 division slash
        QTest::newRow("hidden") << ".chunk_info.json";
        QTest::newRow("empty") << "";
    }

    void manifestRejectsHostileNames()
    {
        QFETCH(QString, file);
        ChunkManifest m;
        m.modelName = "x";
        m.modelType = "bert";
        ManifestChunk c;
        c.name = "layer_0";
        c.kind = "layer";
        c.file = file;
        c.sha256 = Sha256::hashHex("x");
        m.chunks = {c};
        QVERIFY(!isSafeName(file));
        QVERIFY(errorOf([&] { ChunkManifest::fromJson(m.toJson(), "chunk_info.json"); }).contains("chunks.layer_0.file"));
    }

    void manifestRejectsBadFields()
    {
        QVERIFY(errorOf([] { ChunkManifest::fromJson("{", "m.json"); }).contains("m.json: not a JSON object"));
        QVERIFY(errorOf([] { ChunkManifest::fromJson(R"({"format":"other"})", "m.json"); }).contains("field 'format'"));
        QVERIFY(errorOf([] { ChunkManifest::fromJson(R"({"format":"surfing-chunks","format_version":9})", "m.json"); }).contains("format_version"));
        QVERIFY(errorOf([] { ChunkManifest::fromJson(R"({"format":"surfing-chunks","format_version":1,"model_name":"m","model_type":"gpt9","num_layers":1})", "m.json"); }).contains("'gpt9' is not supported"));
    }

    // Format 1 listed companion files by name only: still read, with nothing to check them by.
    void manifestReadsFormatOneFileNames()
    {
        const QByteArray v1 = R"({"format":"surfing-chunks","format_version":1,"model_name":"m","model_type":"bert",
            "num_layers":0,"order":[],"chunks":{},"files":["config.json","vocab.txt"]})";
        const ChunkManifest m = ChunkManifest::fromJson(v1, "m.json");
        QCOMPARE(m.fileNames(), (QStringList{"config.json", "vocab.txt"}));
        QVERIFY(!m.findFile("vocab.txt")->hasChecksum());
        verifyModelFile("anything", *m.findFile("config.json"), "m"); // nothing to check: no throw
    }

    void manifestRejectsBadFileEntries_data()
    {
        QTest::addColumn<QByteArray>("files");
        QTest::addColumn<QString>("expected");
        const QJsonObject good{{"name", "config.json"}, {"bytes", 1}, {"sha256", QString(Sha256::hashHex("x"))}};
        const auto with = [&](const QString &key, const QJsonValue &value) {
            QJsonObject entry = good;
            if (value.isUndefined())
                entry.remove(key);
            else
                entry.insert(key, value);
            return entry;
        };
        const auto json = [](const QJsonArray &files) { return QJsonDocument(files).toJson(QJsonDocument::Compact); };
        QTest::newRow("name only in format 2") << json({"config.json"}) << "files[0].name";
        QTest::newRow("no hash") << json({with("sha256", QJsonValue::Undefined)}) << "files[0].sha256";
        QTest::newRow("short hash") << json({with("sha256", "abc")}) << "files[0].sha256";
        QTest::newRow("negative size") << json({with("bytes", -1)}) << "files[0].bytes";
        QTest::newRow("path") << json({with("name", "../config.json")}) << "files[0].name";
        QTest::newRow("twice") << json({good, good}) << "lists 'config.json' twice";
    }

    void manifestRejectsBadFileEntries()
    {
        QFETCH(QByteArray, files);
        QFETCH(QString, expected);
        const QByteArray json = R"({"format":"surfing-chunks","format_version":2,"model_name":"m","model_type":"bert",
            "num_layers":0,"order":[],"chunks":{},"files":)" + files + "}";
        const QString error = errorOf([&] { ChunkManifest::fromJson(json, "m.json"); });
        QVERIFY2(error.contains(expected), qPrintable(error));
    }

    void modelFilesAreCheckedLikeChunks()
    {
        const QByteArray config = R"({"rms_norm_eps": 1e-5})";
        const ManifestFile file{"config.json", config.size(), Sha256::hashHex(config)};
        verifyModelFile(config, file, "here");
        QByteArray changed = config;
        changed.replace("1e-5", "1e-6");
        QVERIFY(errorOf([&] { verifyModelFile(changed, file, "here"); }).contains("file 'config.json' of here: SHA-256 mismatch"));
        QVERIFY(errorOf([&] { verifyModelFile(config + " ", file, "here"); }).contains("the manifest says"));
    }

    // Found by fuzz_manifest under UBSan: a shape entry of 1e300 was converted to qint64 (undefined).
    void manifestRejectsBadShape_data()
    {
        QTest::addColumn<QString>("dim");
        QTest::newRow("huge") << "6.11111e+50";
        QTest::newRow("negative") << "-3";
        QTest::newRow("fraction") << "2.5";
        QTest::newRow("string") << "\"5\"";
    }

    void manifestRejectsBadShape()
    {
        QFETCH(QString, dim);
        ChunkManifest m;
        m.modelName = "x";
        m.modelType = "bert";
        ManifestChunk c;
        c.name = "layer_0";
        c.kind = "layer";
        c.file = "layer_0.safetensors";
        c.sha256 = Sha256::hashHex("x");
        c.tensors = {{"w", Dtype::F32, {7, 5}, "w"}};
        m.chunks = {c};
        QByteArray json = m.toJson();
        const QByteArray shape = QJsonDocument(QJsonArray {7, 5}).toJson(QJsonDocument::Compact);
        const QByteArray compact = QJsonDocument::fromJson(json).toJson(QJsonDocument::Compact);
        QVERIFY(compact.contains(shape));
        json = QByteArray(compact).replace(shape, "[7," + dim.toUtf8() + "]");
        QVERIFY(errorOf([&] { ChunkManifest::fromJson(json, "chunk_info.json"); })
                    .contains("chunks.layer_0.tensors[].shape"));
    }

    void plannerNamesUnclaimedTensor()
    {
        QTemporaryDir dir;
        const QByteArray f(16, '\0');
        writeModel(dir.path(), kTinyLlama, {{"model.embed_tokens.weight", Dtype::F32, {2, 2}, f},
                                            {"model.layers.0.mlp.up_proj.weight", Dtype::F32, {2, 2}, f},
                                            {"model.vision_tower.weight", Dtype::F32, {2, 2}, f}});
        const auto checkpoint = Checkpoint::open(dir.path());
        QCOMPARE(errorOf([&] { planChunks(ModelConfig::load(dir.path()), *checkpoint); }),
                 QString("tensor 'model.vision_tower.weight' belongs to no llama unit; is this a llama checkpoint?"));
    }

    void plannerStoresTiedWeightsOnce()
    {
        QTemporaryDir dir;
        const QByteArray a(16, '\1'), b(16, '\2');
        writeModel(dir.path(), kTinyLlama, {{"model.embed_tokens.weight", Dtype::F32, {2, 2}, a},
                                            {"lm_head.weight", Dtype::F32, {2, 2}, a},
                                            {"model.layers.0.mlp.up_proj.weight", Dtype::F32, {2, 2}, b}});
        const auto checkpoint = Checkpoint::open(dir.path());
        const ChunkPlan plan = planChunks(ModelConfig::load(dir.path()), *checkpoint);
        QCOMPARE(plan.tiedAliases, QStringList{"lm_head.weight"});
        QStringList names;
        for (const PlannedChunk &c : plan.chunks)
            names << c.name;
        QCOMPARE(names, (QStringList{"embed_tokens", "layer_0"}));
        QCOMPARE(plan.chunks[1].tensors[0].key, QString("mlp.up_proj.weight"));
    }

    // A re-fetched chunk is computed on as it arrives, so a decoder layer's bytes come in the
    // order a step reads them (alphabetically the MLP would come first); other keys follow.
    void plannerOrdersLayerTensorsAsAStepReadsThem()
    {
        QTemporaryDir dir;
        const QByteArray w(16, '\1');
        const QStringList shuffled{"mlp.down_proj.weight", "self_attn.v_proj.weight", "zz_extra.weight",
                                   "post_attention_layernorm.weight", "self_attn.o_proj.weight", "mlp.up_proj.weight",
                                   "self_attn.q_proj.bias", "input_layernorm.weight", "self_attn.k_proj.weight",
                                   "mlp.gate_proj.weight", "self_attn.q_proj.weight"};
        QStringList names{"model.embed_tokens.weight"};
        for (const QString &key : shuffled)
            names << "model.layers.0." + key;
        QVector<TensorView> model;
        for (const QString &name : names)
            model.append({name, Dtype::F32, {2, 2}, w});
        writeModel(dir.path(), kTinyLlama, model);
        const auto checkpoint = Checkpoint::open(dir.path());
        const ChunkPlan plan = planChunks(ModelConfig::load(dir.path()), *checkpoint);
        QStringList keys;
        for (const PlannedTensor &t : plan.chunks[1].tensors)
            keys << t.key;
        QCOMPARE(keys, (QStringList{"input_layernorm.weight", "self_attn.q_proj.bias", "self_attn.q_proj.weight",
                                    "self_attn.k_proj.weight", "self_attn.v_proj.weight", "self_attn.o_proj.weight",
                                    "post_attention_layernorm.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight",
                                    "mlp.down_proj.weight", "zz_extra.weight"}));
    }

    void plannerKeepsUntiedHead()
    {
        QTemporaryDir dir;
        writeModel(dir.path(), kTinyLlama, {{"model.embed_tokens.weight", Dtype::F32, {2, 2}, QByteArray(16, '\1')},
                                            {"lm_head.weight", Dtype::F32, {2, 2}, QByteArray(16, '\3')},
                                            {"model.layers.0.mlp.up_proj.weight", Dtype::F32, {2, 2}, QByteArray(16, '\2')}});
        const auto checkpoint = Checkpoint::open(dir.path());
        const ChunkPlan plan = planChunks(ModelConfig::load(dir.path()), *checkpoint);
        QCOMPARE(plan.chunks.last().name, QString("lm_head"));
        QVERIFY(plan.tiedAliases.isEmpty());
    }

    void plannerChecksLayerCount()
    {
        QTemporaryDir dir;
        const QByteArray f(16, '\0');
        writeModel(dir.path(), kTinyLlama, {{"model.embed_tokens.weight", Dtype::F32, {2, 2}, f},
                                            {"model.layers.1.mlp.up_proj.weight", Dtype::F32, {2, 2}, f}});
        const auto checkpoint = Checkpoint::open(dir.path());
        QVERIFY(errorOf([&] { planChunks(ModelConfig::load(dir.path()), *checkpoint); }).contains("names layer 1 but config.json has 1 layers"));
    }

    void configErrorsListSupportedTypes()
    {
        QVERIFY(errorOf([] { ModelConfig::fromJson({{"model_type", "falcon"}}, "config.json"); })
                    .contains("model_type 'falcon' is not supported (supported: bert, gpt2, llama, mistral, qwen2, qwen3, qwen3_moe, t5)"));
        QVERIFY(errorOf([] { ModelConfig::fromJson({{"model_type", "bert"}}, "config.json"); }).contains("missing field 'num_hidden_layers'"));
        QVERIFY(errorOf([] { ModelConfig::load("/nonexistent"); }).contains("/nonexistent/config.json: missing"));
    }
};

QTEST_GUILESS_MAIN(TestChunkFormat)
#include "tst_chunkformat.moc"
