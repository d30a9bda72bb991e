// T5 v1.0 (t5-random) and v1.1 (t5v11-random) against transformers' goldens, streamed unit by unit
// through a WeightStream over a chunk source.
#include "t5testsupport.h"
#include "testsupport.h"

#include "base/error.h"
#include "client/localchunksource.h"
#include "inference/inferencesession.h"
#include "inference/t5generator.h"
#include "inference/t5model.h"
#include "inference/weightstream.h"

#include <QJsonArray>
#include <QtTest>

using namespace surfing;
using namespace surfing::test;

namespace {

const double kTolerance = 1e-4;

// The real path: a chunk directory made by `surfing-cli chunk`, read by LocalChunkSource with a
// cache of 2 chunks (smaller than the model, so weights come and go while the KV cache stays).
struct Fixture {
    explicit Fixture(const QString &chunkDir)
        : source(chunkDir, 0, 2),
          config(T5Config::fromJson(ModelConfig::load(chunkDir).json, chunkDir + QStringLiteral("/config.json"))),
          stream(source, 2),
          model(config, stream)
    {
    }
    LocalChunkSource source;
    T5Config config;
    WeightStream stream;
    T5Model model;
};

// Only the real (unpadded) encoder positions are meaningful.
double maxAbsDiffMasked(const at::Tensor &a, const at::Tensor &b, const at::Tensor &mask)
{
    const at::Tensor keep = mask.to(at::kBool).unsqueeze(-1).expand_as(a);
    return maxAbsDiff(a.masked_select(keep), b.masked_select(keep));
}

} // namespace

class TestT5Model : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void relativePositionBuckets_data();
    void relativePositionBuckets();
    void goldens_data();
    void goldens();
    void incrementalDecodeMatchesTeacherForcing_data();
    void incrementalDecodeMatchesTeacherForcing();
    void cachedAndUncachedGenerationAgree();
    void samplingIsSeededAndTopKOneIsGreedy();
    void stopsAtEos();
    void streamsUnitsInOrder();
    void rejectsBadInput();
    void runsInInferenceSession();
    void runsFromTheCommandLine();

private:
    QString chunks(const QString &model) const { return m_chunkRoot.filePath(model); }

    QString m_models;
    QTemporaryDir m_chunkRoot;
};

void TestT5Model::initTestCase()
{
    m_models = sharedModelsDir();
    if (m_models.isEmpty() || !QFile::exists(m_models + QStringLiteral("/t5-random/config.json")))
        QSKIP("shared models (t5-random, t5v11-random) not found");
    QVERIFY(m_chunkRoot.isValid());
    // v1.0 plain, v1.1 zstd-compressed: both codecs feed the model.
    for (const auto &[model, extra] : {std::pair{"t5-random", QStringList{}},
                                       std::pair{"t5v11-random", QStringList{QStringLiteral("--compress")}}}) {
        const CliResult r = runCli(QStringList{QStringLiteral("chunk"), m_models + QLatin1Char('/') + QLatin1String(model),
                                               QStringLiteral("-o"), chunks(QLatin1String(model))} + extra);
        QVERIFY2(r.exitCode == 0, r.err.constData());
    }
}

void TestT5Model::relativePositionBuckets_data()
{
    QTest::addColumn<QString>("model");
    QTest::newRow("t5-random") << QStringLiteral("t5-random");
    QTest::newRow("t5v11-random") << QStringLiteral("t5v11-random");
}

void TestT5Model::relativePositionBuckets()
{
    QFETCH(QString, model);
    const QString dir = m_models + QLatin1Char('/') + model;
    const QJsonObject table = loadJson(dir + QStringLiteral("/golden/relative_position_buckets.json"));
    const T5Config config = T5Config::fromJson(ModelConfig::load(dir).json, dir);
    const at::Tensor positions = idsTensor(QJsonArray{table.value(QStringLiteral("relative_position"))}).squeeze(0);
    QCOMPARE(positions.size(0), int64_t(601));
    for (const bool bidirectional : {true, false}) {
        const QString key = bidirectional ? QStringLiteral("encoder_bidirectional") : QStringLiteral("decoder_unidirectional");
        const at::Tensor expected = idsTensor(QJsonArray{table.value(key)}).squeeze(0);
        const at::Tensor got = t5::relativePositionBuckets(positions, bidirectional, config.numBuckets, config.maxDistance);
        QVERIFY2(at::equal(got, expected), qPrintable(key));
    }
}

void TestT5Model::goldens_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("testCase");
    for (const char *model : {"t5-random", "t5v11-random"})
        for (const char *c : {"01_short", "02_long", "03_padded_batch"})
            QTest::newRow(qPrintable(QStringLiteral("%1/%2").arg(QLatin1String(model), QLatin1String(c))))
                << QString::fromLatin1(model) << QString::fromLatin1(c);
}

void TestT5Model::goldens()
{
    QFETCH(QString, model);
    QFETCH(QString, testCase);
    const QString dir = m_models + QLatin1Char('/') + model;
    const QJsonObject spec = loadJson(dir + QStringLiteral("/golden/%1.json").arg(testCase));
    const QHash<QString, at::Tensor> golden = loadTensors(dir + QStringLiteral("/golden/%1.safetensors").arg(testCase));
    const at::Tensor inputIds = idsTensor(spec.value(QStringLiteral("input_ids")));
    const at::Tensor mask = idsTensor(spec.value(QStringLiteral("attention_mask")));
    const at::Tensor decoderIds = idsTensor(spec.value(QStringLiteral("decoder_input_ids")));

    Fixture f(chunks(model));
    T5Trace encTrace;
    const T5EncoderOutput enc = f.model.encode(inputIds, mask, &encTrace);
    QCOMPARE(int(encTrace.hiddenStates.size()), f.config.numLayers + 1);
    double worst = 0;
    for (size_t i = 0; i < encTrace.hiddenStates.size(); ++i) {
        const double d = maxAbsDiffMasked(encTrace.hiddenStates[i], golden.value(QStringLiteral("encoder_hidden_states.%1").arg(i)), mask);
        QVERIFY2(d <= kTolerance, qPrintable(QStringLiteral("encoder_hidden_states.%1: %2").arg(i).arg(d)));
        worst = std::max(worst, d);
    }
    QVERIFY(maxAbsDiffMasked(encTrace.lastLayerPrenorm, golden.value(QStringLiteral("encoder_last_layer_output_prenorm")), mask) <= kTolerance);
    QVERIFY(maxAbsDiffMasked(enc.hidden, golden.value(QStringLiteral("encoder_last_hidden_state")), mask) <= kTolerance);

    T5Trace decTrace;
    const at::Tensor logits = f.model.decode(decoderIds, enc, nullptr, &decTrace);
    for (size_t i = 0; i < decTrace.hiddenStates.size(); ++i) {
        const double d = maxAbsDiff(decTrace.hiddenStates[i], golden.value(QStringLiteral("decoder_hidden_states.%1").arg(i)));
        QVERIFY2(d <= kTolerance, qPrintable(QStringLiteral("decoder_hidden_states.%1: %2").arg(i).arg(d)));
    }
    QVERIFY(maxAbsDiff(decTrace.lastLayerPrenorm, golden.value(QStringLiteral("decoder_last_layer_output_prenorm"))) <= kTolerance);
    const double logitDiff = maxAbsDiff(logits, golden.value(QStringLiteral("logits")));
    QVERIFY2(logitDiff <= kTolerance, qPrintable(QStringLiteral("logits: %1").arg(logitDiff)));
    qInfo("%s: max abs diff encoder %.3g, logits %.3g", qPrintable(model + QLatin1Char('/') + testCase), worst, logitDiff);

    T5GenerationOptions options;
    options.maxNewTokens = 10;
    const T5GenerationResult result = T5Generator(f.model).generate(inputIds, mask, options);
    const at::Tensor expected = idsTensor(spec.value(QStringLiteral("greedy")).toObject().value(QStringLiteral("sequences")));
    QVERIFY2(at::equal(result.sequences, expected), qPrintable(QStringLiteral("greedy ids differ")));
}

void TestT5Model::incrementalDecodeMatchesTeacherForcing_data()
{
    goldens_data();
}

// Feeding the decoder ids one at a time through the KV cache gives the teacher-forced logits.
void TestT5Model::incrementalDecodeMatchesTeacherForcing()
{
    QFETCH(QString, model);
    QFETCH(QString, testCase);
    const QString dir = m_models + QLatin1Char('/') + model;
    const QJsonObject spec = loadJson(dir + QStringLiteral("/golden/%1.json").arg(testCase));
    const at::Tensor logitsGolden = loadTensors(dir + QStringLiteral("/golden/%1.safetensors").arg(testCase)).value(QStringLiteral("logits"));
    const at::Tensor decoderIds = idsTensor(spec.value(QStringLiteral("decoder_input_ids")));
    Fixture f(chunks(model));
    const T5EncoderOutput enc = f.model.encode(idsTensor(spec.value(QStringLiteral("input_ids"))),
                                               idsTensor(spec.value(QStringLiteral("attention_mask"))));
    T5DecoderState state;
    std::vector<at::Tensor> steps;
    for (int64_t t = 0; t < decoderIds.size(1); ++t)
        steps.push_back(f.model.decode(decoderIds.slice(1, t, t + 1), enc, &state));
    QCOMPARE(state.length, decoderIds.size(1));
    QCOMPARE(state.layers.front().self.key.size(2), decoderIds.size(1));
    QCOMPARE(state.layers.front().cross.key.size(2), enc.hidden.size(1));
    const double d = maxAbsDiff(at::cat(steps, 1), logitsGolden);
    QVERIFY2(d <= kTolerance, qPrintable(QString::number(d)));
}

void TestT5Model::cachedAndUncachedGenerationAgree()
{
    for (const QString &model : {QStringLiteral("t5-random"), QStringLiteral("t5v11-random")}) {
        const QString dir = m_models + QLatin1Char('/') + model;
        const QJsonObject spec = loadJson(dir + QStringLiteral("/golden/03_padded_batch.json"));
        const at::Tensor ids = idsTensor(spec.value(QStringLiteral("input_ids")));
        const at::Tensor mask = idsTensor(spec.value(QStringLiteral("attention_mask")));
        Fixture f(chunks(model));
        T5GenerationOptions options;
        options.maxNewTokens = 16;
        const at::Tensor cached = T5Generator(f.model).generate(ids, mask, options).sequences;
        options.useCache = false;
        const at::Tensor full = T5Generator(f.model).generate(ids, mask, options).sequences;
        QCOMPARE(cached.size(1), int64_t(17));
        QVERIFY2(at::equal(cached, full), qPrintable(model));
        // Each row alone equals its row of the padded batch.
        for (int64_t row = 0; row < ids.size(0); ++row) {
            const int64_t real = mask[row].sum().item<int64_t>();
            options.useCache = true;
            const at::Tensor alone = T5Generator(f.model).generate(ids.slice(0, row, row + 1).slice(1, 0, real), {}, options).sequences;
            QVERIFY2(at::equal(alone, cached.slice(0, row, row + 1)), qPrintable(model));
        }
    }
}

void TestT5Model::samplingIsSeededAndTopKOneIsGreedy()
{
    const QString dir = m_models + QStringLiteral("/t5v11-random");
    const QJsonObject spec = loadJson(dir + QStringLiteral("/golden/01_short.json"));
    const at::Tensor ids = idsTensor(spec.value(QStringLiteral("input_ids")));
    Fixture f(chunks(QStringLiteral("t5v11-random")));
    T5Generator generator(f.model);
    T5GenerationOptions options;
    options.maxNewTokens = 10;
    options.sampling.temperature = 1.5;
    options.sampling.topP = 0.9;
    options.sampling.seed = 7;
    const at::Tensor a = generator.generate(ids, {}, options).sequences;
    const at::Tensor b = generator.generate(ids, {}, options).sequences;
    QVERIFY(at::equal(a, b));
    bool anyDiffers = false;
    for (uint64_t seed = 8; seed < 12 && !anyDiffers; ++seed) {
        options.sampling.seed = seed;
        anyDiffers = !at::equal(generator.generate(ids, {}, options).sequences, a);
    }
    QVERIFY2(anyDiffers, "different seeds never changed the sampled ids");

    options.sampling.topK = 1;
    options.sampling.topP = 1.0;
    const at::Tensor topOne = generator.generate(ids, {}, options).sequences;
    const at::Tensor greedy = idsTensor(spec.value(QStringLiteral("greedy")).toObject().value(QStringLiteral("sequences")));
    QVERIFY(at::equal(topOne, greedy));
}

void TestT5Model::stopsAtEos()
{
    const QString dir = m_models + QStringLiteral("/t5v11-random");
    const QJsonObject spec = loadJson(dir + QStringLiteral("/golden/03_padded_batch.json"));
    const at::Tensor ids = idsTensor(spec.value(QStringLiteral("input_ids")));
    const at::Tensor mask = idsTensor(spec.value(QStringLiteral("attention_mask")));
    const at::Tensor greedy = idsTensor(spec.value(QStringLiteral("greedy")).toObject().value(QStringLiteral("sequences")));
    // Pretend row 0's third generated id is EOS: row 0 stops there and is padded; row 1 runs on.
    Fixture f(chunks(QStringLiteral("t5v11-random")));
    T5GenerationOptions options;
    options.maxNewTokens = 10;
    options.eosTokenId = greedy[0][3].item<int64_t>();
    QVector<QPair<int64_t, int64_t>> streamed;
    const T5GenerationResult result = T5Generator(f.model).generate(ids, mask, options, [&](int64_t row, int64_t token) {
        streamed.append({row, token});
        return true;
    });
    QCOMPARE(result.sequences.size(1), int64_t(11));
    QVERIFY(at::equal(result.sequences[0].slice(0, 0, 4), greedy[0].slice(0, 0, 4)));
    const bool padded = result.sequences[0].slice(0, 4).eq(f.config.padTokenId).all().item<bool>();
    QVERIFY(padded);
    QVERIFY(at::equal(result.sequences[1], greedy[1]));
    QCOMPARE(streamed.size(), 3 + 10);

    // Everyone at EOS ends generation; a callback returning false stops it too.
    options.eosTokenId = greedy[0][1].item<int64_t>();
    const at::Tensor one = T5Generator(f.model).generate(ids.slice(0, 0, 1), mask.slice(0, 0, 1), options).sequences;
    QCOMPARE(one.size(1), int64_t(2));
    options.stopAtEos = false;
    const at::Tensor past = T5Generator(f.model).generate(ids.slice(0, 0, 1), mask.slice(0, 0, 1), options).sequences;
    QVERIFY(at::equal(past, greedy.slice(0, 0, 1)));
    options.stopAtEos = true;
    options.eosTokenId.reset();
    int calls = 0;
    const T5GenerationResult cut = T5Generator(f.model).generate(ids, mask, options, [&](int64_t, int64_t) { return ++calls < 3; });
    QCOMPARE(cut.steps, 2);
}

void TestT5Model::streamsUnitsInOrder()
{
    for (const QString &model : {QStringLiteral("t5-random"), QStringLiteral("t5v11-random")}) {
        Fixture f(chunks(model));
        QVector<LayerEvent> events;
        f.stream.setEventSink([&](const LayerEvent &e) { events.append(e); });
        T5GenerationOptions options;
        options.maxNewTokens = 3;
        T5Generator(f.model).generate(at::tensor({5, 6, 7, 1}, at::kLong).unsqueeze(0), {}, options);
        QStringList expected = f.model.encoderUnits();
        for (int step = 0; step < 3; ++step) {
            expected += f.model.decoderUnits();
            if (f.config.tieWordEmbeddings) // the tied head computes on the kept embeddings
                expected << QStringLiteral("shared_embeddings");
        }
        QStringList seen;
        for (const LayerEvent &e : events)
            seen << e.unit;
        QCOMPARE(seen, expected);
        QCOMPARE(f.config.tieWordEmbeddings, !f.model.decoderUnits().contains(QStringLiteral("lm_head")));
        QCOMPARE(events.last().step, events.first().step + 3);
        // Every unit of the manifest is one the model asks for, and the other way round.
        QStringList manifestUnits;
        for (const ManifestChunk &c : f.source.manifest().chunks)
            manifestUnits << c.name;
        QStringList asked = f.model.encoderUnits() + f.model.decoderUnits();
        asked.removeDuplicates();
        manifestUnits.sort();
        asked.sort();
        QCOMPARE(asked, manifestUnits);
    }
}

void TestT5Model::rejectsBadInput()
{
    Fixture f(chunks(QStringLiteral("t5-random")));
    QVERIFY_THROWS_EXCEPTION(Error, f.model.encode(at::tensor({5, 384}, at::kLong).unsqueeze(0), {}));
    QVERIFY_THROWS_EXCEPTION(Error, f.model.encode(at::tensor({5, -1}, at::kLong).unsqueeze(0), {}));
    QVERIFY_THROWS_EXCEPTION(Error, f.model.encode(at::tensor({5, 6}, at::kLong).unsqueeze(0), at::ones({1, 3}, at::kLong)));
    QJsonObject json = ModelConfig::load(m_models + QStringLiteral("/t5-random")).json;
    json.insert(QStringLiteral("feed_forward_proj"), QStringLiteral("gated-swish"));
    try {
        T5Config::fromJson(json, QStringLiteral("config.json"));
        QFAIL("unsupported activation accepted");
    } catch (const Error &e) {
        QVERIFY2(e.message().contains(QLatin1String("swish")), qPrintable(e.message()));
    }
    json.insert(QStringLiteral("d_model"), -3);
    QVERIFY_THROWS_EXCEPTION(Error, T5Config::fromJson(json, QStringLiteral("config.json")));
}

// The executor's path: InferenceSession over a LocalChunkSource, ids in (no tokenizer), ids out.
void TestT5Model::runsInInferenceSession()
{
    for (const QString &model : {QStringLiteral("t5-random"), QStringLiteral("t5v11-random")}) {
        const QString dir = m_models + QLatin1Char('/') + model;
        const QJsonObject spec = loadJson(dir + QStringLiteral("/golden/02_long.json"));
        const at::Tensor golden = idsTensor(spec.value(QStringLiteral("greedy")).toObject().value(QStringLiteral("sequences")));
        QVector<qint64> prompt;
        for (const QJsonValue &v : spec.value(QStringLiteral("input_ids")).toArray().first().toArray())
            prompt.append(v.toInteger());

        InferenceSession session(std::make_shared<LocalChunkSource>(chunks(model), 0, 3), chunks(model));
        QVERIFY(session.isDecoder());
        QVERIFY(!session.hasTokenizer());
        InferenceOptions options;
        options.maxNewTokens = 10;
        options.keepTensors = true;
        session.setOptions(options);
        session.warmup();
        QVector<qint64> streamed;
        connect(&session, &InferenceSession::tokenGenerated, this, [&](qint64 id, const QString &) { streamed.append(id); });
        const InferenceResult result = session.runIds(prompt);
        QVector<qint64> expected;
        for (int64_t i = 1; i < golden.size(1); ++i)
            expected.append(golden[0][i].item<int64_t>());
        QCOMPARE(result.newIds, expected);
        QCOMPARE(streamed, expected);
        QCOMPARE(result.stats.steps, 1 + 10); // one encoder pass, ten decoder passes
        QVERIFY(result.timeline.size() >= 3 * (1 + 10));
        QVERIFY(result.stats.timeToFirstTokenNs > 0);

        QTemporaryDir out;
        const QString dump = out.filePath(QStringLiteral("t5.safetensors"));
        session.dumpTensors(dump);
        const QHash<QString, at::Tensor> dumped = loadTensors(dump);
        const QHash<QString, at::Tensor> reference = loadTensors(dir + QStringLiteral("/golden/02_long.safetensors"));
        QVERIFY(maxAbsDiff(dumped.value(QStringLiteral("encoder_last_hidden_state")),
                           reference.value(QStringLiteral("encoder_last_hidden_state"))) <= kTolerance);
        // The first decoder step sees only the start token: row 0 of the teacher-forced logits.
        QVERIFY(maxAbsDiff(dumped.value(QStringLiteral("logits")),
                           reference.value(QStringLiteral("logits")).slice(1, 0, 1)) <= kTolerance);
    }
}

// `surfing-cli run --local DIR --ids ...`: T5 has no tokenizer here, so ids go in and come out.
void TestT5Model::runsFromTheCommandLine()
{
    for (const QString &model : {QStringLiteral("t5-random"), QStringLiteral("t5v11-random")}) {
        const QJsonObject spec = loadJson(m_models + QLatin1Char('/') + model + QStringLiteral("/golden/01_short.json"));
        QStringList prompt;
        for (const QJsonValue &v : spec.value(QStringLiteral("input_ids")).toArray().first().toArray())
            prompt << QString::number(v.toInteger());
        const CliResult r = runCli({QStringLiteral("run"), QStringLiteral("--local"), chunks(model), QStringLiteral("--ids"),
                                    prompt.join(QLatin1Char(',')), QStringLiteral("--max-tokens"), QStringLiteral("10"),
                                    QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonObject out = QJsonDocument::fromJson(r.out).object();
        QJsonArray expected = spec.value(QStringLiteral("greedy")).toObject().value(QStringLiteral("sequences")).toArray().first().toArray();
        expected.removeFirst(); // the decoder start id is not a generated token
        QCOMPARE(out.value(QStringLiteral("ids")).toArray(), expected);
        QCOMPARE(out.value(QStringLiteral("model_type")).toString(), QStringLiteral("t5"));
        QVERIFY(!out.value(QStringLiteral("timeline")).toArray().isEmpty());
    }
}

QTEST_GUILESS_MAIN(TestT5Model)
#include "tst_t5model.moc"
