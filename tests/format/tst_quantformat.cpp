// Q8_0 / Q4_0 chunks (format/quant.h, docs/chunk-format.md "Quantized chunks"): the GGUF block
// layouts and their round-trip error, the parser's refusal of wrong block counts, truncated
// blocks and non-finite scales, and `chunk --quantize` / `verify` end to end on stories260K.
#include "base/error.h"
#include "base/sha256.h"
#include "format/chunkmanifest.h"
#include "format/quant.h"
#include "format/safetensors.h"
#include "testsupport.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>
#include <cstring>
#include <random>

using namespace surfing;
using namespace surfing::quant;
using namespace surfing::test;

namespace {

std::vector<float> randomValues(int64_t n, unsigned seed, float scale = 1.0f)
{
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, scale);
    std::vector<float> v(static_cast<size_t>(n));
    for (float &x : v)
        x = normal(rng);
    return v;
}

float halfRounded(float v)
{
    // The f16 value nearest to v, by counting: enough for scales of ordinary magnitude.
    const int e = std::max(std::ilogb(v), -14); // f16 subnormals share the ulp 2^-24
    const float ulp = std::ldexp(1.0f, e - 10);
    return std::nearbyint(v / ulp) * ulp;
}

// A safetensors file with one quantized tensor `w` of `shape` whose data is `data`.
QByteArray quantFile(Dtype dtype, QVector<qint64> shape, const QByteArray &data)
{
    QByteArray dims;
    for (qint64 d : shape)
        dims += (dims.isEmpty() ? "" : ",") + QByteArray::number(d);
    QByteArray json = "{\"w\":{\"dtype\":\"" + dtypeName(dtype).toLatin1() + "\",\"shape\":[" + dims
                      + "],\"data_offsets\":[0," + QByteArray::number(data.size()) + "]}}";
    while ((8 + json.size()) % 8)
        json += ' ';
    QByteArray out(8, '\0');
    const quint64 n = quint64(json.size());
    std::memcpy(out.data(), &n, 8);
    return out + json + data;
}

void setScaleBits(QByteArray &blocks, QuantType type, int block, uint16_t bits)
{
    std::memcpy(blocks.data() + block * blockBytes(type), &bits, 2);
}

} // namespace

class TestQuantFormat : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void layoutsAreGgufs()
    {
        QCOMPARE(blockBytes(QuantType::Q8_0), 34);
        QCOMPARE(blockBytes(QuantType::Q4_0), 18);
        QCOMPARE(dtypeSize(Dtype::Q8_0), 34);
        QCOMPARE(dtypeBlockValues(Dtype::Q4_0), 32);
        QCOMPARE(dtypeByteCount(Dtype::Q4_0, 64 * 4, 64), qint64(8 * 18));
        QCOMPARE(dtypeByteCount(Dtype::Q8_0, 48, 48), qint64(-1));
        QCOMPARE(dtypeFromName(QStringLiteral("Q4_0")), std::optional<Dtype>(Dtype::Q4_0));
    }

    // A hand-made block: ggml's quantize_row_q8_0_ref puts d = amax / 127 (f16) first, then
    // round(x / d) as int8; quantize_row_q4_0_ref d = max / -8 and min(15, (int8)(x / d + 8.5)),
    // value j in the low nibble of byte j, value j + 16 in its high nibble.
    void blockBytesByHand()
    {
        std::vector<float> x(32, 0.0f);
        x[0] = 2.54f;   // amax: d = 0.02 (f16 0x251f), q = 127
        x[1] = -1.0f;   // q = round(-50) = -50
        x[17] = 0.011f; // q = round(0.55) = 1
        const QByteArray q8 = quantize(QuantType::Q8_0, x.data(), 32);
        QCOMPARE(q8.size(), 34);
        uint16_t d;
        std::memcpy(&d, q8.constData(), 2);
        QCOMPARE(d, uint16_t(0x251f));
        QCOMPARE(int(int8_t(q8[2])), 127);
        QCOMPARE(int(int8_t(q8[3])), -50);
        QCOMPARE(int(int8_t(q8[2 + 17])), 1);
        QCOMPARE(int(int8_t(q8[2 + 5])), 0);

        std::vector<float> y(32, 0.0f);
        y[0] = -4.0f; // max by magnitude: d = 0.5, -4 -> 0
        y[1] = 3.9f;  // 3.9 / 0.5 + 8.5 = 16.3 -> 16, clamped to 15
        y[16] = 1.0f; // 2 + 8.5 -> 10, high nibble of byte 0
        const QByteArray q4 = quantize(QuantType::Q4_0, y.data(), 32);
        QCOMPARE(q4.size(), 18);
        std::memcpy(&d, q4.constData(), 2);
        QCOMPARE(d, uint16_t(0x3800)); // 0.5
        QCOMPARE(int(uint8_t(q4[2])), 0 | (10 << 4));
        QCOMPARE(int(uint8_t(q4[3])) & 15, 15);
        QCOMPARE(int(uint8_t(q4[4])), 8 | (8 << 4)); // zeros
        float back[32];
        dequantize(QuantType::Q4_0, reinterpret_cast<const uint8_t *>(q4.constData()), 1, back);
        QCOMPARE(back[0], -4.0f);
        QCOMPARE(back[1], 3.5f); // clamped: the largest positive Q4_0 value is 7 d
        QCOMPARE(back[16], 1.0f);
    }

    // Q8_0: |x - d q| <= d/2 + 127 |d - f16(d)|; Q4_0: within one step d of the block (the
    // positive end is clamped to 7 d while the scale maps the extreme to -8 d) plus the scale's
    // f16 rounding times 8.
    void roundTripErrorIsBounded_data()
    {
        QTest::addColumn<int>("type");
        QTest::newRow("q8_0") << int(QuantType::Q8_0);
        QTest::newRow("q4_0") << int(QuantType::Q4_0);
    }
    void roundTripErrorIsBounded()
    {
        QFETCH(int, type);
        const QuantType t = QuantType(type);
        for (float scale : {1e-3f, 0.05f, 1.0f, 300.0f}) {
            const std::vector<float> x = randomValues(32 * 200, 7 + unsigned(scale * 10), scale);
            const QByteArray q = quantize(t, x.data(), int64_t(x.size()));
            QCOMPARE(q.size(), qsizetype(200 * blockBytes(t)));
            std::vector<float> back(x.size());
            dequantize(t, reinterpret_cast<const uint8_t *>(q.constData()), 200, back.data());
            double worstRelative = 0;
            for (int b = 0; b < 200; ++b) {
                float amax = 0;
                for (int j = 0; j < 32; ++j)
                    amax = std::max(amax, std::fabs(x[b * 32 + j]));
                const float d = t == QuantType::Q8_0 ? amax / 127 : amax / 8;
                const double dRounding = std::fabs(double(d) - halfRounded(d));
                const double bound = (t == QuantType::Q8_0 ? 0.5 * d + 127 * dRounding : 1.0 * d + 8 * dRounding) * (1 + 1e-5);
                for (int j = 0; j < 32; ++j) {
                    const double err = std::fabs(double(x[b * 32 + j]) - back[b * 32 + j]);
                    QVERIFY2(err <= bound, qPrintable(QStringLiteral("block %1 value %2: error %3 > bound %4").arg(b).arg(j).arg(err).arg(bound)));
                    worstRelative = std::max(worstRelative, err / d);
                }
            }
            // The bounds are reached, not loose: the worst error is close to half a step (Q8_0)
            // (the clamped end of Q4_0 is rare in random blocks).
            QVERIFY(worstRelative > 0.45);
        }
    }

    void quantizesF16AndBf16Sources()
    {
        const std::vector<float> x = randomValues(64, 3);
        QByteArray f16(128, '\0'), bf16(128, '\0');
        for (int i = 0; i < 64; ++i) {
            uint32_t bits;
            std::memcpy(&bits, &x[i], 4);
            const uint16_t b = uint16_t(bits >> 16); // truncated: exactly representable below
            std::memcpy(bf16.data() + 2 * i, &b, 2);
        }
        std::vector<float> widened(64);
        for (int i = 0; i < 64; ++i) {
            uint16_t b;
            std::memcpy(&b, bf16.constData() + 2 * i, 2);
            const uint32_t bits = uint32_t(b) << 16;
            std::memcpy(&widened[i], &bits, 4);
        }
        QCOMPARE(quantizeTensor(QuantType::Q4_0, Dtype::BF16, bf16), quantize(QuantType::Q4_0, widened.data(), 64));
        QVERIFY(!errorOf([&] { quantizeTensor(QuantType::Q8_0, Dtype::I32, QByteArray(256, '\0')); }).isEmpty());
        QVERIFY(isQuantizable(Dtype::F32, {64, 64}));
        QVERIFY(isQuantizable(Dtype::BF16, {512, 32}));
        QVERIFY(!isQuantizable(Dtype::F32, {64}));       // norms, biases
        QVERIFY(!isQuantizable(Dtype::F32, {64, 172}));  // rows not whole blocks
        QVERIFY(!isQuantizable(Dtype::F32, {2, 32, 32}));
        QVERIFY(!isQuantizable(Dtype::I64, {64, 64}));
    }

    void parsesValidQuantizedTensor()
    {
        const std::vector<float> x = randomValues(4 * 64, 1);
        const QByteArray blocks = quantize(QuantType::Q4_0, x.data(), int64_t(x.size()));
        const QByteArray file = quantFile(Dtype::Q4_0, {4, 64}, blocks);
        const SafetensorsHeader header = parseSafetensors(file, QStringLiteral("mem"));
        QCOMPARE(header.tensors.first().dtype, Dtype::Q4_0);
        QCOMPARE(header.tensors.first().byteSize(), qint64(8 * 18));
        checkQuantizedTensors(header, file, QStringLiteral("mem")); // no throw
        // serializeSafetensors writes them too.
        const QByteArray written = serializeSafetensors({{"w", Dtype::Q4_0, {4, 64}, blocks}});
        QCOMPARE(parseSafetensors(written, QStringLiteral("mem")).tensors.first().shape, (QVector<qint64>{4, 64}));
    }

    void refusesBadQuantizedTensors_data()
    {
        QTest::addColumn<int>("dtype");
        QTest::addColumn<QVector<qint64>>("shape");
        QTest::addColumn<int>("dataBytes");
        QTest::addColumn<QString>("expected");
        QTest::newRow("wrong block count") << int(Dtype::Q8_0) << QVector<qint64>{2, 64} << 3 * 34 << "wrong block count: Q8_0 data of 102 bytes holds 3 blocks";
        QTest::newRow("truncated block") << int(Dtype::Q4_0) << QVector<qint64>{2, 64} << 4 * 18 - 7 << "and a truncated block of 11 bytes";
        QTest::newRow("only scales") << int(Dtype::Q8_0) << QVector<qint64>{1, 32} << 2 << "holds 0 blocks of 34 bytes and a truncated block of 2 bytes";
        QTest::newRow("rows not whole blocks") << int(Dtype::Q4_0) << QVector<qint64>{2, 48} << 3 * 18 << "last dimension that is a whole number of 32-value blocks";
        QTest::newRow("scalar") << int(Dtype::Q8_0) << QVector<qint64>{} << 34 << "last dimension that is a whole number";
    }
    void refusesBadQuantizedTensors()
    {
        QFETCH(int, dtype);
        QFETCH(QVector<qint64>, shape);
        QFETCH(int, dataBytes);
        QFETCH(QString, expected);
        const QByteArray file = quantFile(Dtype(dtype), shape, QByteArray(dataBytes, '\0'));
        const QString message = errorOf([&] { parseSafetensors(file, QStringLiteral("chunk 'layer_0'")); });
        QVERIFY2(message.contains(expected), qPrintable(message));
        QVERIFY2(message.contains(QStringLiteral("chunk 'layer_0'")) && message.contains(QStringLiteral("tensor 'w'")), qPrintable(message));
    }

    void refusesNonFiniteScales_data()
    {
        QTest::addColumn<int>("type");
        QTest::addColumn<int>("bits");
        QTest::addColumn<QString>("expected");
        QTest::newRow("q8_0 nan") << int(QuantType::Q8_0) << 0x7e00 << "block 5 of 8 has a non-finite scale (NaN)";
        QTest::newRow("q4_0 nan") << int(QuantType::Q4_0) << 0xfc01 << "block 5 of 8 has a non-finite scale (NaN)";
        QTest::newRow("q4_0 inf") << int(QuantType::Q4_0) << 0x7c00 << "block 5 of 8 has a non-finite scale (infinity)";
        QTest::newRow("q8_0 -inf") << int(QuantType::Q8_0) << 0xfc00 << "block 5 of 8 has a non-finite scale (infinity)";
    }
    void refusesNonFiniteScales()
    {
        QFETCH(int, type);
        QFETCH(int, bits);
        QFETCH(QString, expected);
        const QuantType t = QuantType(type);
        const std::vector<float> x = randomValues(4 * 64, 2);
        QByteArray blocks = quantize(t, x.data(), int64_t(x.size()));
        setScaleBits(blocks, t, 5, uint16_t(bits));
        const QByteArray file = quantFile(dtypeOf(t), {4, 64}, blocks);
        const SafetensorsHeader header = parseSafetensors(file, QStringLiteral("mem"));
        const QString message = errorOf([&] { checkQuantizedTensors(header, file, QStringLiteral("chunk 'layer_3'")); });
        QVERIFY2(message.contains(expected), qPrintable(message));
        QVERIFY2(message.contains(QStringLiteral("chunk 'layer_3'")) && message.contains(QStringLiteral("tensor 'w'")), qPrintable(message));
        // Largest finite f16 and the subnormals are fine.
        setScaleBits(blocks, t, 5, 0x7bff);
        setScaleBits(blocks, t, 6, 0x0001);
        checkQuantizedTensors(header, quantFile(dtypeOf(t), {4, 64}, blocks), QStringLiteral("mem"));
    }

    // chunk --quantize on stories260K: 2-D matrices whose rows are whole blocks become Q8_0 / Q4_0
    // (the embedding too), the rest keeps its dtype; the manifest, inspect and verify say so.
    void chunkQuantizeLabelsEveryTensor()
    {
        const QString model = test::sharedModel(QStringLiteral("stories260K"));
        if (model.isEmpty())
            QSKIP("../shared/models/stories260K not found");
        QTemporaryDir tmp;
        const QString out = tmp.filePath(QStringLiteral("q4"));
        const test::CliResult chunked = test::runCli({QStringLiteral("chunk"), model, QStringLiteral("-o"), out, QStringLiteral("--quantize"), QStringLiteral("q4_0")});
        QVERIFY2(chunked.exitCode == 0, chunked.err.constData());
        const ChunkManifest m = ChunkManifest::load(out);
        QCOMPARE(m.dtype, QStringLiteral("q4_0"));
        QHash<QString, Dtype> dtypes;
        for (const ManifestChunk &c : m.chunks)
            for (const ManifestTensor &t : c.tensors)
                dtypes.insert(c.name + QLatin1Char('/') + t.name, t.dtype);
        // The tied embedding is the LM head: Q8_0 in q4_0 chunks, as llama.cpp's Q4_0 mix.
        QCOMPARE(dtypes.value(QStringLiteral("embed_tokens/weight")), Dtype::Q8_0);
        QCOMPARE(dtypes.value(QStringLiteral("layer_0/self_attn.q_proj.weight")), Dtype::Q4_0);
        QCOMPARE(dtypes.value(QStringLiteral("layer_4/mlp.up_proj.weight")), Dtype::Q4_0);
        QCOMPARE(dtypes.value(QStringLiteral("layer_0/mlp.down_proj.weight")), Dtype::F32); // rows of 172
        QCOMPARE(dtypes.value(QStringLiteral("layer_0/input_layernorm.weight")), Dtype::F32);
        QCOMPARE(dtypes.value(QStringLiteral("norm/weight")), Dtype::F32);

        const test::CliResult inspect = test::runCli({QStringLiteral("inspect"), out});
        QVERIFY2(inspect.exitCode == 0, inspect.err.constData());
        QVERIFY2(inspect.out.contains("dtype q4_0"), inspect.out.constData());
        const test::CliResult verify = test::runCli({QStringLiteral("verify"), out});
        QVERIFY2(verify.exitCode == 0, verify.out + verify.err);

        // With --compress the blocks travel as opaque bytes and decode to the same chunk.
        const QString packed = tmp.filePath(QStringLiteral("q4z"));
        const test::CliResult compressed = test::runCli({QStringLiteral("chunk"), model, QStringLiteral("-o"), packed, QStringLiteral("--quantize"), QStringLiteral("q4_0"), QStringLiteral("--compress")});
        QVERIFY2(compressed.exitCode == 0, compressed.err.constData());
        const test::CliResult verifyPacked = test::runCli({QStringLiteral("verify"), packed});
        QVERIFY2(verifyPacked.exitCode == 0, verifyPacked.out + verifyPacked.err);
        const ChunkManifest mz = ChunkManifest::load(packed);
        for (int i = 0; i < m.chunks.size(); ++i)
            QCOMPARE(mz.chunks[i].rawBytes, m.chunks[i].rawBytes);
    }

    // An untied LLaMA: the LM head is Q8_0 under q4_0, the embedding Q4_0; q8_0 makes both Q8_0.
    void q4_0KeepsTheLmHeadInQ8_0()
    {
        const QString model = test::sharedModel(QStringLiteral("llama-random"));
        if (model.isEmpty())
            QSKIP("../shared/models/llama-random not found");
        QTemporaryDir tmp;
        for (const QString &type : {QStringLiteral("q4_0"), QStringLiteral("q8_0")}) {
            const QString out = tmp.filePath(type);
            const test::CliResult chunked = test::runCli({QStringLiteral("chunk"), model, QStringLiteral("-o"), out, QStringLiteral("--quantize"), type});
            QVERIFY2(chunked.exitCode == 0, chunked.err.constData());
            const ChunkManifest m = ChunkManifest::load(out);
            const Dtype bulk = type == QLatin1String("q4_0") ? Dtype::Q4_0 : Dtype::Q8_0;
            for (const ManifestChunk &c : m.chunks) {
                for (const ManifestTensor &t : c.tensors) {
                    if (t.shape.size() != 2)
                        QCOMPARE(t.dtype, Dtype::F32);
                    else
                        QCOMPARE(t.dtype, c.name == QLatin1String("lm_head") ? Dtype::Q8_0 : bulk);
                }
            }
        }
    }

    // With --dtype too, the tensors left unquantized are converted and the manifest says both.
    void quantizeWithDtype()
    {
        const QString model = test::sharedModel(QStringLiteral("llama-random"));
        if (model.isEmpty())
            QSKIP("../shared/models/llama-random not found");
        QTemporaryDir tmp;
        const QString out = tmp.filePath(QStringLiteral("q8bf16"));
        const test::CliResult chunked = test::runCli({QStringLiteral("chunk"), model, QStringLiteral("-o"), out, QStringLiteral("--quantize"),
                                                      QStringLiteral("q8_0"), QStringLiteral("--dtype"), QStringLiteral("bf16")});
        QVERIFY2(chunked.exitCode == 0, chunked.err.constData());
        const ChunkManifest m = ChunkManifest::load(out);
        QCOMPARE(m.dtype, QStringLiteral("q8_0+bf16"));
        for (const ManifestChunk &c : m.chunks)
            for (const ManifestTensor &t : c.tensors)
                QCOMPARE(t.dtype, t.shape.size() == 2 ? Dtype::Q8_0 : Dtype::BF16);
        QCOMPARE(test::runCli({QStringLiteral("verify"), out}).exitCode, 0);
    }

    void chunkQuantizeRefusesWhatItCannotDo()
    {
        const QString gpt2 = test::sharedModel(QStringLiteral("gpt2-random"));
        if (gpt2.isEmpty())
            QSKIP("../shared/models not found");
        QTemporaryDir tmp;
        const test::CliResult bogus = test::runCli({QStringLiteral("chunk"), gpt2, QStringLiteral("-o"), tmp.filePath(QStringLiteral("a")), QStringLiteral("--quantize"), QStringLiteral("q5_1")});
        QVERIFY(bogus.exitCode != 0);
        QVERIFY2(bogus.err.contains("--quantize must be q8_0 or q4_0"), bogus.err.constData());
        const test::CliResult conv1d = test::runCli({QStringLiteral("chunk"), gpt2, QStringLiteral("-o"), tmp.filePath(QStringLiteral("b")), QStringLiteral("--quantize"), QStringLiteral("q8_0")});
        QVERIFY(conv1d.exitCode != 0);
        QVERIFY2(conv1d.err.contains("--quantize does not support gpt2"), conv1d.err.constData());
        QVERIFY(!QFileInfo::exists(tmp.filePath(QStringLiteral("b"))));
    }

    // A chunk whose bytes match the manifest's hash (made or re-hashed by whoever wrote it) but
    // whose blocks are bad is still refused by verify, by chunk, tensor and block.
    void verifyRefusesBadBlocks_data()
    {
        QTest::addColumn<QString>("damage");
        QTest::addColumn<QString>("expected");
        QTest::newRow("nan scale") << "nan" << "tensor 'self_attn.q_proj.weight' (Q8_0): block 3 of 128 has a non-finite scale (NaN)";
        QTest::newRow("inf scale") << "inf" << "block 3 of 128 has a non-finite scale (infinity)";
        QTest::newRow("block count") << "shape" << "wrong block count: Q8_0 data of 4352 bytes holds 128 blocks of 34 bytes, but the shape needs 130 blocks";
    }
    void verifyRefusesBadBlocks()
    {
        QFETCH(QString, damage);
        QFETCH(QString, expected);
        const QString model = test::sharedModel(QStringLiteral("stories260K"));
        if (model.isEmpty())
            QSKIP("../shared/models/stories260K not found");
        QTemporaryDir tmp;
        const QString out = tmp.filePath(QStringLiteral("q8"));
        QCOMPARE(test::runCli({QStringLiteral("chunk"), model, QStringLiteral("-o"), out, QStringLiteral("--quantize"), QStringLiteral("q8_0")}).exitCode, 0);
        const QString file = out + QStringLiteral("/layer_0.safetensors");
        QByteArray bytes = test::readFile(file);
        const SafetensorsHeader header = parseSafetensors(bytes, file);
        const TensorInfo *q = header.find(QStringLiteral("self_attn.q_proj.weight"));
        QVERIFY(q && q->dtype == Dtype::Q8_0);
        if (damage == QLatin1String("shape")) {
            const qsizetype at = bytes.indexOf("\"self_attn.q_proj.weight\":{\"dtype\":\"Q8_0\",\"shape\":[64,64]");
            QVERIFY(at > 0);
            bytes.replace(bytes.indexOf("[64,64]", at), 7, "[65,64]");
        } else {
            const uint16_t bits = damage == QLatin1String("nan") ? 0x7e01 : 0x7c00;
            std::memcpy(bytes.data() + header.dataOffset + q->begin + 3 * 34, &bits, 2);
        }
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(bytes);
        f.close();
        // Re-hash it in the manifest, as a careless or hostile writer would.
        const QString manifestPath = out + QStringLiteral("/chunk_info.json");
        QJsonObject root = QJsonDocument::fromJson(test::readFile(manifestPath)).object();
        QJsonObject chunks = root.value(QLatin1String("chunks")).toObject();
        QJsonObject entry = chunks.value(QLatin1String("layer_0")).toObject();
        entry.insert(QStringLiteral("sha256"), QString::fromLatin1(Sha256::hashHex(bytes)));
        chunks.insert(QStringLiteral("layer_0"), entry);
        root.insert(QStringLiteral("chunks"), chunks);
        QFile mf(manifestPath);
        QVERIFY(mf.open(QIODevice::WriteOnly));
        mf.write(QJsonDocument(root).toJson());
        mf.close();

        const test::CliResult verify = test::runCli({QStringLiteral("verify"), out});
        QVERIFY(verify.exitCode != 0);
        const QByteArray all = verify.out + verify.err;
        QVERIFY2(all.contains(expected.toUtf8()), all.constData());
        QVERIFY2(all.contains("layer_0"), all.constData());
    }
};

QTEST_GUILESS_MAIN(TestQuantFormat)
#include "tst_quantformat.moc"
