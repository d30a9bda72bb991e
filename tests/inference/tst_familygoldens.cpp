// Llama 3, Qwen2, Qwen3 and Qwen3-MoE (bf16 checkpoints chunked as they are, computed in f32)
// against the float64 reference goldens in ../shared/models/*/golden: every hidden state and the
// stored logits rows within 1e-3, identical greedy ids; Qwen3-MoE also with a client cache
// smaller than its experts, fetching only the experts the router picks.
#include "dirchunksource.h"
#include "goldens.h"
#include "testsupport.h"

#include "client/localchunksource.h"
#include "format/chunkmanifest.h"
#include "format/modelconfig.h"
#include "inference/decodermodel.h"
#include "inference/generation.h"
#include "inference/weightstream.h"

#include <QDir>
#include <QJsonArray>
#include <QTemporaryDir>
#include <QtTest>

using namespace surfing;
using namespace surfing::test;

namespace {
constexpr double kTolerance = 1e-3; // issue 12: bf16 weights, f32 compute, float64 reference
}

class TestFamilyGoldens : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_tmp;
    QString chunks(const QString &model);
    void addCases();
    void checkCase(const QString &model, const QString &name);

private Q_SLOTS:
    void initTestCase();
    void llama3_data() { addCases(); }
    void llama3();
    void qwen2_data() { addCases(); }
    void qwen2();
    void qwen3_data() { addCases(); }
    void qwen3();
    void qwen3moe_data() { addCases(); }
    void qwen3moe();
    void bf16StaysBf16();
    void expertsAreTheirOwnUnits();
    void moeFetchesOnlyPickedExperts();
    void moeSmallCacheStillExact();
    void otherRopeTypesAreRefusedByName();
};

QString TestFamilyGoldens::chunks(const QString &model)
{
    const QString out = m_tmp.filePath(model);
    if (!QFile::exists(out + QStringLiteral("/chunk_info.json")))
        writeChunkDir(sharedModel(model), out);
    return out;
}

void TestFamilyGoldens::addCases()
{
    QTest::addColumn<QString>("name");
    for (const QString &c : {QStringLiteral("01_short"), QStringLiteral("02_chat"), QStringLiteral("03_long")})
        QTest::newRow(qPrintable(c)) << c;
}

void TestFamilyGoldens::initTestCase()
{
    if (sharedModelsDir().isEmpty() || !QFile::exists(sharedModel(QStringLiteral("qwen3moe-random")) + QStringLiteral("/config.json")))
        QSKIP("../shared/models with the Llama 3 / Qwen goldens is not available");
    QVERIFY(m_tmp.isValid());
}

// The golden's prompt forward pass (hidden states, logits rows) and its 20 greedy ids.
void TestFamilyGoldens::checkCase(const QString &model, const QString &name)
{
    const QString golden = sharedModel(model) + QStringLiteral("/golden/") + name;
    const QJsonObject j = readJson(golden + QStringLiteral(".json"));
    QVERIFY2(!j.isEmpty(), qPrintable(golden));
    const QString st = golden + QStringLiteral(".safetensors");
    const QString dir = chunks(model);
    DirChunkSource source(dir);
    WeightStream stream(source, 2);
    auto decoder = makeDecoderModel(ModelConfig::load(dir));
    const at::Tensor ids = idsTensor(j.value(QLatin1String("input_ids")));
    ForwardOptions options;
    options.collectHidden = true;
    const DecoderOutput out = decoder->forward(stream, DecoderModel::inputFor(ids, nullptr), nullptr, options);
    const int layers = decoder->numLayers();
    for (int k = 0; k < layers; ++k) {
        const double d = maxAbsDiff(out.hiddenStates[size_t(k)], goldenTensor(st, QStringLiteral("hidden_states.%1").arg(k)));
        QVERIFY2(d <= kTolerance, qPrintable(QStringLiteral("hidden_states.%1 differs by %2").arg(k).arg(d)));
    }
    const double dp = maxAbsDiff(out.hiddenStates.back(), goldenTensor(st, QStringLiteral("last_layer_output_prenorm")));
    QVERIFY2(dp <= kTolerance, qPrintable(QStringLiteral("prenorm differs by %1").arg(dp)));
    const double dn = maxAbsDiff(out.hidden, goldenTensor(st, QStringLiteral("hidden_states.%1").arg(layers)));
    QVERIFY2(dn <= kTolerance, qPrintable(QStringLiteral("final hidden differs by %1").arg(dn)));
    const at::Tensor positions = goldenTensor(st, QStringLiteral("logits_rows_positions"));
    const at::Tensor rows = out.logits.index_select(1, positions.flatten());
    const double dl = maxAbsDiff(rows, goldenTensor(st, QStringLiteral("logits_rows")));
    QVERIFY2(dl <= kTolerance, qPrintable(QStringLiteral("logits differ by %1").arg(dl)));
    qInfo().noquote() << model << name << "max |diff|: logits" << dl << "final hidden" << dn;

    GenerationOptions gen;
    gen.maxNewTokens = 20;
    gen.stopAtEos = false;
    const GenerationResult result = generate(*decoder, stream, ids, {}, gen);
    const QJsonArray expected = j.value(QLatin1String("greedy")).toObject().value(QLatin1String("new_ids")).toArray();
    QCOMPARE(result.newIds.at(0), toIds(expected.at(0)));
}

void TestFamilyGoldens::llama3()
{
    QFETCH(QString, name);
    checkCase(QStringLiteral("llama3-random"), name);
}

void TestFamilyGoldens::qwen2()
{
    QFETCH(QString, name);
    checkCase(QStringLiteral("qwen2-random"), name);
}

void TestFamilyGoldens::qwen3()
{
    QFETCH(QString, name);
    checkCase(QStringLiteral("qwen3-random"), name);
}

void TestFamilyGoldens::qwen3moe()
{
    QFETCH(QString, name);
    checkCase(QStringLiteral("qwen3moe-random"), name);
}

void TestFamilyGoldens::bf16StaysBf16()
{
    // Chunked as they are: every tensor keeps the checkpoint's BF16.
    for (const QString &model : {QStringLiteral("llama3-random"), QStringLiteral("qwen3moe-random")}) {
        const ChunkManifest m = ChunkManifest::load(chunks(model));
        QCOMPARE(m.dtype, QStringLiteral("original"));
        for (const ManifestChunk &c : m.chunks)
            for (const ManifestTensor &t : c.tensors)
                QVERIFY2(t.dtype == Dtype::BF16, qPrintable(c.name + QLatin1Char('/') + t.name));
    }
}

void TestFamilyGoldens::expertsAreTheirOwnUnits()
{
    const ChunkManifest m = ChunkManifest::load(chunks(QStringLiteral("qwen3moe-random")));
    QStringList expected{QStringLiteral("embed_tokens")};
    for (int layer = 0; layer < 3; ++layer) {
        expected << QStringLiteral("layer_%1").arg(layer);
        for (int e = 0; e < 8; ++e)
            expected << QStringLiteral("layer_%1_expert_%2").arg(layer).arg(e);
    }
    expected << QStringLiteral("norm") << QStringLiteral("lm_head");
    QStringList names;
    for (const ManifestChunk &c : m.chunks)
        names << c.name;
    QCOMPARE(names, expected);
    const ManifestChunk *expert = m.find(QStringLiteral("layer_1_expert"), 5);
    QVERIFY(expert && expert->name == QStringLiteral("layer_1_expert_5"));
    QStringList keys;
    for (const ManifestTensor &t : expert->tensors)
        keys << t.name;
    QCOMPARE(keys, (QStringList{QStringLiteral("down_proj.weight"), QStringLiteral("gate_proj.weight"), QStringLiteral("up_proj.weight")}));
    // Attention and the router stay with the layer.
    QStringList layerKeys;
    for (const ManifestTensor &t : m.find(QStringLiteral("layer_1"))->tensors)
        layerKeys << t.name;
    QVERIFY(layerKeys.contains(QStringLiteral("mlp.gate.weight")));
    QVERIFY(layerKeys.contains(QStringLiteral("self_attn.q_norm.weight")));
    QVERIFY(!layerKeys.join(QLatin1Char(' ')).contains(QLatin1String("experts")));
}

void TestFamilyGoldens::moeFetchesOnlyPickedExperts()
{
    // One decode step reads exactly top-k = 2 experts per layer, and the golden routing says which.
    const QString golden = sharedModel(QStringLiteral("qwen3moe-random")) + QStringLiteral("/golden/01_short");
    const QString st = golden + QStringLiteral(".safetensors");
    const QString dir = chunks(QStringLiteral("qwen3moe-random"));
    DirChunkSource source(dir);
    WeightStream stream(source, 0);
    QVector<LayerEvent> events;
    stream.setEventSink([&](const LayerEvent &e) { events.append(e); });
    auto decoder = makeDecoderModel(ModelConfig::load(dir));
    const at::Tensor ids = idsTensor(readJson(golden + QStringLiteral(".json")).value(QLatin1String("input_ids")));
    const int64_t t = ids.size(1);
    KVCache cache(decoder->numLayers());
    decoder->forward(stream, DecoderModel::inputFor(ids.narrow(1, 0, t - 1), &cache), &cache, {});
    events.clear();
    decoder->forward(stream, DecoderModel::inputFor(ids.narrow(1, t - 1, 1), &cache), &cache, {});
    QStringList expected{QStringLiteral("embed_tokens")};
    for (int layer = 0; layer < 3; ++layer) {
        expected << QStringLiteral("layer_%1").arg(layer);
        const at::Tensor picked = std::get<0>(goldenTensor(st, QStringLiteral("router_selected_experts.%1").arg(layer))[t - 1].sort());
        for (int k = 0; k < 2; ++k)
            expected << QStringLiteral("layer_%1_expert_%2").arg(layer).arg(picked[k].item<int64_t>());
    }
    expected << QStringLiteral("norm") << QStringLiteral("lm_head");
    QStringList units;
    for (const LayerEvent &e : events)
        units << e.unit;
    QCOMPARE(units, expected);
}

void TestFamilyGoldens::moeSmallCacheStillExact()
{
    // Room for 6 of 30 chunks (24 of them experts): experts come and go, the ids stay the golden's,
    // and wrong expert guesses are not kept pinned beyond the budget.
    const QString golden = sharedModel(QStringLiteral("qwen3moe-random")) + QStringLiteral("/golden/03_long");
    const QJsonObject j = readJson(golden + QStringLiteral(".json"));
    const QString dir = chunks(QStringLiteral("qwen3moe-random"));
    LocalChunkSource source(dir, 0, 6);
    WeightStream stream(source, 2);
    auto decoder = makeDecoderModel(ModelConfig::load(dir));
    GenerationOptions gen;
    gen.maxNewTokens = 20;
    gen.stopAtEos = false;
    const GenerationResult r = generate(*decoder, stream, idsTensor(j.value(QLatin1String("input_ids"))), {}, gen);
    QCOMPARE(r.newIds.at(0), toIds(j.value(QLatin1String("greedy")).toObject().value(QLatin1String("new_ids")).toArray().at(0)));
    QVERIFY2(source.fetchesStarted() > 30, qPrintable(QString::number(source.fetchesStarted())));
    constexpr int kBudget = 6, kPrefetchWindow = 2, kInUse = 1;
    QVERIFY(source.cache().stats().residentChunks <= kBudget + kPrefetchWindow + kInUse);
}

void TestFamilyGoldens::otherRopeTypesAreRefusedByName()
{
    QJsonObject config = ModelConfig::load(sharedModel(QStringLiteral("llama3-random"))).json;
    for (const char *type : {"yarn", "dynamic", "linear", "longrope"}) {
        QJsonObject scaling = config.value(QLatin1String("rope_scaling")).toObject();
        scaling.insert(QStringLiteral("rope_type"), QLatin1String(type));
        config.insert(QStringLiteral("rope_scaling"), scaling);
        QString message;
        try {
            makeDecoderModel(ModelConfig::fromJson(config, QStringLiteral("config.json")));
        } catch (const std::exception &e) {
            message = QString::fromUtf8(e.what());
        }
        QVERIFY2(message.contains(QStringLiteral("rope_type '%1' is not supported").arg(QLatin1String(type))), qPrintable(message));
    }
}

QTEST_GUILESS_MAIN(TestFamilyGoldens)
#include "tst_familygoldens.moc"
