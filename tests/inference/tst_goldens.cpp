// The streamed models against the Hugging Face / llama2.c goldens in ../shared/models, through
// chunk directories and a ChunkSource: hidden states and logits within 1e-4, identical greedy ids.
#include "dirchunksource.h"
#include "goldens.h"
#include "testsupport.h"

#include "client/localchunksource.h"
#include "format/modelconfig.h"
#include "inference/bertmodel.h"
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
constexpr double kTolerance = 1e-4;
}

class TestGoldens : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_tmp;
    QString chunks(const QString &model);
    QStringList cases(const QString &model);

private Q_SLOTS:
    void initTestCase();
    void bert_data();
    void bert();
    void gpt2_data();
    void gpt2();
    void llama_data();
    void llama();
    void storiesLogits();
    void storiesPrompts();
    void kvCacheMatchesRecompute();
    void smallClientCacheStillExact();
    void eventsCoverEveryUnitOfEveryStep();
};

QString TestGoldens::chunks(const QString &model)
{
    const QString out = m_tmp.filePath(model);
    if (!QFile::exists(out + QStringLiteral("/chunk_info.json")))
        writeChunkDir(sharedModel(model), out);
    return out;
}

QStringList TestGoldens::cases(const QString &model)
{
    QStringList names;
    for (const QString &f : QDir(sharedModel(model) + QStringLiteral("/golden")).entryList({QStringLiteral("*.json")}, QDir::Files, QDir::Name))
        names << f.chopped(5);
    return names;
}

void TestGoldens::initTestCase()
{
    if (sharedModelsDir().isEmpty())
        QSKIP("../shared/models is not available");
    QVERIFY(m_tmp.isValid());
}

void TestGoldens::bert_data()
{
    QTest::addColumn<QString>("name");
    for (const QString &c : cases(QStringLiteral("bert-random")))
        QTest::newRow(qPrintable(c)) << c;
}

void TestGoldens::bert()
{
    QFETCH(QString, name);
    const QString golden = sharedModel(QStringLiteral("bert-random")) + QStringLiteral("/golden/") + name;
    const QJsonObject j = readJson(golden + QStringLiteral(".json"));
    DirChunkSource source(chunks(QStringLiteral("bert-random")));
    WeightStream stream(source, 2);
    BertModel model(ModelConfig::load(chunks(QStringLiteral("bert-random"))));
    const at::Tensor mask = idsTensor(j.value(QLatin1String("attention_mask")));
    const BertOutput out = model.forward(stream, idsTensor(j.value(QLatin1String("input_ids"))),
                                         idsTensor(j.value(QLatin1String("token_type_ids"))), mask, true);
    const QString st = golden + QStringLiteral(".safetensors");
    QCOMPARE(int(out.hiddenStates.size()), model.numLayers() + 1);
    for (size_t k = 0; k < out.hiddenStates.size(); ++k) {
        const double d = maxAbsDiff(out.hiddenStates[k], goldenTensor(st, QStringLiteral("hidden_states.%1").arg(k)), mask);
        QVERIFY2(d <= kTolerance, qPrintable(QStringLiteral("hidden_states.%1 differs by %2").arg(k).arg(d)));
    }
    const double dh = maxAbsDiff(out.lastHidden, goldenTensor(st, QStringLiteral("last_hidden_state")), mask);
    QVERIFY2(dh <= kTolerance, qPrintable(QString::number(dh)));
    const double dp = maxAbsDiff(out.pooled, goldenTensor(st, QStringLiteral("pooler_output")));
    QVERIFY2(dp <= kTolerance, qPrintable(QString::number(dp)));
}

void TestGoldens::gpt2_data()
{
    QTest::addColumn<QString>("name");
    for (const QString &c : cases(QStringLiteral("gpt2-random")))
        QTest::newRow(qPrintable(c)) << c;
}

// Checks one decoder golden case (gpt2-random or llama-random layout).
static void checkDecoderCase(const QString &chunkDir, const QString &golden)
{
    const QJsonObject j = readJson(golden + QStringLiteral(".json"));
    const QString st = golden + QStringLiteral(".safetensors");
    DirChunkSource source(chunkDir);
    WeightStream stream(source, 1);
    auto model = makeDecoderModel(ModelConfig::load(chunkDir));
    const at::Tensor ids = idsTensor(j.value(QLatin1String("input_ids")));
    const bool padded = j.contains(QLatin1String("attention_mask"));
    const at::Tensor mask = padded ? idsTensor(j.value(QLatin1String("attention_mask"))) : at::ones_like(ids);

    DecoderInput input = DecoderModel::inputFor(ids, nullptr);
    if (padded) {
        input.positions = idsTensor(j.value(QLatin1String("position_ids")));
        input.keyMask = mask.to(at::kBool);
    }
    ForwardOptions options;
    options.collectHidden = true;
    const DecoderOutput out = model->forward(stream, input, nullptr, options);
    const int layers = model->numLayers();
    QCOMPARE(int(out.hiddenStates.size()), layers + 1);
    for (int k = 0; k < layers; ++k) {
        const double d = maxAbsDiff(out.hiddenStates[size_t(k)], goldenTensor(st, QStringLiteral("hidden_states.%1").arg(k)), mask);
        QVERIFY2(d <= kTolerance, qPrintable(QStringLiteral("hidden_states.%1 differs by %2").arg(k).arg(d)));
    }
    const double dn = maxAbsDiff(out.hidden, goldenTensor(st, QStringLiteral("hidden_states.%1").arg(layers)), mask);
    QVERIFY2(dn <= kTolerance, qPrintable(QStringLiteral("final hidden differs by %1").arg(dn)));
    const double dp = maxAbsDiff(out.hiddenStates.back(), goldenTensor(st, QStringLiteral("last_layer_output_prenorm")), mask);
    QVERIFY2(dp <= kTolerance, qPrintable(QStringLiteral("prenorm differs by %1").arg(dp)));
    const double dl = maxAbsDiff(out.logits, goldenTensor(st, QStringLiteral("logits")), mask);
    QVERIFY2(dl <= kTolerance, qPrintable(QStringLiteral("logits differ by %1").arg(dl)));

    const QJsonObject greedy = j.value(QLatin1String("greedy")).toObject();
    if (greedy.isEmpty())
        return;
    GenerationOptions gen;
    gen.maxNewTokens = 20;
    gen.padId = j.contains(QLatin1String("pad_token_id")) ? std::optional<int64_t>(j.value(QLatin1String("pad_token_id")).toInt()) : std::nullopt;
    const GenerationResult result = generate(*model, stream, ids, padded ? mask : at::Tensor(), gen);
    const QJsonValue expected = greedy.value(QLatin1String("new_ids"));
    const QJsonArray rows = expected.toArray().first().isArray() ? expected.toArray() : QJsonArray{expected};
    QCOMPARE(int(result.newIds.size()), int(rows.size()));
    for (int r = 0; r < rows.size(); ++r)
        QCOMPARE(result.newIds[size_t(r)], toIds(rows[r]));
}

void TestGoldens::gpt2()
{
    QFETCH(QString, name);
    checkDecoderCase(chunks(QStringLiteral("gpt2-random")), sharedModel(QStringLiteral("gpt2-random")) + QStringLiteral("/golden/") + name);
}

void TestGoldens::llama_data()
{
    QTest::addColumn<QString>("name");
    for (const QString &c : cases(QStringLiteral("llama-random")))
        QTest::newRow(qPrintable(c)) << c;
}

void TestGoldens::llama()
{
    QFETCH(QString, name);
    checkDecoderCase(chunks(QStringLiteral("llama-random")), sharedModel(QStringLiteral("llama-random")) + QStringLiteral("/golden/") + name);
}

void TestGoldens::storiesLogits()
{
    const QString dir = chunks(QStringLiteral("stories260K"));
    const QString st = sharedModel(QStringLiteral("stories260K")) + QStringLiteral("/golden/logits.safetensors");
    DirChunkSource source(dir);
    WeightStream stream(source, 2);
    auto model = makeDecoderModel(ModelConfig::load(dir));
    const at::Tensor ids = goldenTensor(st, QStringLiteral("input_ids")).unsqueeze(0);
    ForwardOptions options;
    options.collectHidden = true;
    const DecoderOutput out = model->forward(stream, DecoderModel::inputFor(ids, nullptr), nullptr, options);
    for (int k = 0; k < model->numLayers(); ++k) {
        const double d = maxAbsDiff(out.hiddenStates[size_t(k)][0], goldenTensor(st, QStringLiteral("hidden_%1").arg(k)));
        QVERIFY2(d <= kTolerance, qPrintable(QStringLiteral("hidden_%1 differs by %2").arg(k).arg(d)));
    }
    QVERIFY(maxAbsDiff(out.hiddenStates.back()[0], goldenTensor(st, QStringLiteral("hidden_5_prenorm"))) <= kTolerance);
    QVERIFY(maxAbsDiff(out.hidden[0], goldenTensor(st, QStringLiteral("hidden"))) <= kTolerance);
    const double dl = maxAbsDiff(out.logits[0], goldenTensor(st, QStringLiteral("logits")));
    QVERIFY2(dl <= kTolerance, qPrintable(QStringLiteral("logits differ by %1").arg(dl)));
}

void TestGoldens::storiesPrompts()
{
    const QString dir = chunks(QStringLiteral("stories260K"));
    const QJsonObject j = readJson(sharedModel(QStringLiteral("stories260K")) + QStringLiteral("/golden/prompts.json"));
    DirChunkSource source(dir);
    WeightStream stream(source, 2);
    auto model = makeDecoderModel(ModelConfig::load(dir));
    const QJsonArray prompts = j.value(QLatin1String("prompts")).toArray();
    QCOMPARE(prompts.size(), 8);
    for (const QJsonValue &p : prompts) {
        const std::vector<int64_t> ids = toIds(p.toObject().value(QLatin1String("ids")));
        const std::vector<int64_t> expected = toIds(p.toObject().value(QLatin1String("greedy_ids")));
        GenerationOptions gen;
        gen.maxNewTokens = int(expected.size());
        gen.stopAtEos = false;
        const GenerationResult r = generate(*model, stream, at::tensor(ids, at::kLong).view({1, -1}), {}, gen);
        QCOMPARE(r.newIds[0], expected);
    }
}

void TestGoldens::kvCacheMatchesRecompute()
{
    const QString dir = chunks(QStringLiteral("llama-random"));
    DirChunkSource source(dir);
    WeightStream stream(source, 0);
    auto model = makeDecoderModel(ModelConfig::load(dir));
    const at::Tensor ids = at::tensor(std::vector<int64_t>{1, 200, 33, 7, 400}, at::kLong).view({1, 5});
    GenerationOptions gen;
    gen.maxNewTokens = 16;
    gen.stopAtEos = false;
    const GenerationResult cached = generate(*model, stream, ids, {}, gen);
    gen.useKvCache = false;
    const GenerationResult full = generate(*model, stream, ids, {}, gen);
    QCOMPARE(cached.newIds, full.newIds);
    QCOMPARE(int(cached.newIds[0].size()), 16);

    // Logits of one cached step equal the full recompute's last position.
    KVCache cache(model->numLayers());
    model->forward(stream, DecoderModel::inputFor(ids, &cache), &cache, {});
    const at::Tensor next = at::tensor(std::vector<int64_t>{cached.newIds[0][0]}, at::kLong).view({1, 1});
    const DecoderOutput step = model->forward(stream, DecoderModel::inputFor(next, &cache), &cache, {});
    const DecoderOutput whole = model->forward(stream, DecoderModel::inputFor(at::cat({ids, next}, 1), nullptr), nullptr, {});
    QVERIFY(maxAbsDiff(step.logits.select(1, 0), whole.logits.select(1, 5)) <= 1e-5);
}

void TestGoldens::smallClientCacheStillExact()
{
    // LocalChunkSource with room for 2 of stories260K's 7 chunks: every step refetches layers
    // while the KV cache carries the sequence, and the ids still equal llama2.c's.
    const QString dir = chunks(QStringLiteral("stories260K"));
    LocalChunkSource source(dir, 0, 2);
    WeightStream stream(source, 1);
    auto model = makeDecoderModel(ModelConfig::load(dir));
    const QJsonObject p = readJson(sharedModel(QStringLiteral("stories260K")) + QStringLiteral("/golden/prompts.json"))
                              .value(QLatin1String("prompts")).toArray().at(2).toObject();
    const std::vector<int64_t> expected = toIds(p.value(QLatin1String("greedy_ids")));
    GenerationOptions gen;
    gen.maxNewTokens = int(expected.size());
    gen.stopAtEos = false;
    const std::vector<int64_t> ids = toIds(p.value(QLatin1String("ids")));
    const GenerationResult r = generate(*model, stream, at::tensor(ids, at::kLong).view({1, -1}), {}, gen);
    QCOMPARE(r.newIds[0], expected);
    QVERIFY2(source.fetchesStarted() > 7 * 10, qPrintable(QString::number(source.fetchesStarted())));
    // Only pinned entries may exceed the budget: the prefetch window (depth 1) and the unit
    // compute still holds. Which of them are resident when generation returns is timing.
    constexpr int kBudget = 2, kPrefetchWindow = 1, kInUse = 1;
    QVERIFY(source.cache().stats().residentChunks <= kBudget + kPrefetchWindow + kInUse);
}

void TestGoldens::eventsCoverEveryUnitOfEveryStep()
{
    const QString dir = chunks(QStringLiteral("stories260K"));
    DirChunkSource source(dir);
    WeightStream stream(source, 2);
    QVector<LayerEvent> events;
    stream.setEventSink([&](const LayerEvent &e) { events.append(e); });
    auto model = makeDecoderModel(ModelConfig::load(dir));
    GenerationOptions gen;
    gen.maxNewTokens = 3;
    gen.stopAtEos = false;
    generate(*model, stream, at::tensor(std::vector<int64_t>{1, 403, 407}, at::kLong).view({1, 3}), {}, gen);
    const QStringList order = model->unitOrder();
    QCOMPARE(events.size(), 3 * order.size());
    for (int i = 0; i < events.size(); ++i) {
        const LayerEvent &e = events[i];
        QCOMPARE(e.step, i / order.size());
        QCOMPARE(e.unit, order[i % order.size()]);
        QVERIFY(e.computeEndNs >= e.computeStartNs && e.computeStartNs > 0);
        QVERIFY(!e.cacheHit);
        QVERIFY(e.bytes > 0);
        QVERIFY(e.fetchEndNs <= e.computeStartNs);
    }
    // Prefetch depth 2 announces the next two units ahead of each acquire, wrapping to the head.
    QVERIFY(source.prefetchLog().size() >= 3 * order.size() * 2);
    QCOMPARE(source.prefetchLog().mid(0, 3), (QStringList{order[0], order[1], order[1]}));
}

QTEST_GUILESS_MAIN(TestGoldens)
#include "tst_goldens.moc"
