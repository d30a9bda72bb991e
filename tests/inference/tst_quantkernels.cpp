// The Q8_0 / Q4_0 kernels (inference/quantmatvec.h) on every path this CPU runs, and the ops that
// use them (inference/quantops.h), against a double-precision reference computed from the
// reference dequantization in format/quant.cpp.
//
// Tolerance: a block's values d * q are exact in double; the kernels sum 32 products q x in
// float32, multiply by d and add the block sums in float32: 33 + blocks roundings at most on
// each path, so |y - ref| <= gamma(cols + 2) * sum |d q x| (Higham 3.1; u = 2^-24).
#include "format/quant.h"
#include "format/safetensors.h"
#include "inference/linearops.h"
#include "inference/quantmatvec.h"
#include "inference/quantops.h"
#include "inference/unitweights.h"

#include <QtTest>
#include <cmath>
#include <random>

using namespace surfing;
using namespace surfing::kernels;
using quant::QuantType;

namespace {

constexpr double kUnitRoundoff = 0x1p-24;

struct QMatrix {
    QuantType type;
    int64_t rows, cols;
    QByteArray blocks;
    std::vector<float> values; // the reference dequantization

    const uint8_t *data() const { return reinterpret_cast<const uint8_t *>(blocks.constData()); }
};

QMatrix randomMatrix(QuantType type, int64_t rows, int64_t cols, std::mt19937 &rng)
{
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> w(size_t(rows * cols));
    for (float &v : w)
        v = normal(rng) * 0.1f;
    QMatrix m{type, rows, cols, quant::quantize(type, w.data(), rows * cols), std::vector<float>(w.size())};
    quant::dequantize(type, m.data(), rows * cols / 32, m.values.data());
    return m;
}

std::vector<float> randomVector(int64_t n, std::mt19937 &rng)
{
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> v(static_cast<size_t>(n));
    for (float &x : v)
        x = normal(rng);
    return v;
}

std::vector<Path> supportedPaths()
{
    std::vector<Path> paths;
    for (Path p : {Path::Portable, Path::Avx2, Path::Avx512})
        if (isSupported(p))
            paths.push_back(p);
    return paths;
}

at::Tensor asTensor(const QMatrix &m)
{
    auto owner = std::make_shared<QByteArray>(m.blocks);
    return ops::quantizedMatrix(owner->data(), m.type, m.rows, m.cols, owner);
}

at::Tensor referenceMatrix(const QMatrix &m)
{
    return at::from_blob(const_cast<float *>(m.values.data()), {m.rows, m.cols}, at::kFloat).clone();
}

const std::vector<std::pair<int64_t, int64_t>> kShapes = {
    {1, 32}, {3, 32}, {4, 64}, {5, 96}, {7, 160}, {13, 1024}, {64, 64}, {257, 2816}, {1000, 64}};

} // namespace

class TestQuantKernels : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        QStringList paths;
        for (Path p : supportedPaths())
            paths << QLatin1String(pathName(p));
        qInfo("kernel paths on this CPU: %s", qPrintable(paths.join(QStringLiteral(", "))));
    }

    void matvecMatchesReference_data()
    {
        QTest::addColumn<int>("type");
        QTest::newRow("q8_0") << int(QuantType::Q8_0);
        QTest::newRow("q4_0") << int(QuantType::Q4_0);
    }
    void matvecMatchesReference()
    {
        QFETCH(int, type);
        std::mt19937 rng(42);
        for (const auto &[rows, cols] : kShapes) {
            const QMatrix m = randomMatrix(QuantType(type), rows, cols, rng);
            const std::vector<float> x = randomVector(cols, rng), bias = randomVector(rows, rng);
            for (Path path : supportedPaths()) {
                for (const bool withBias : {false, true}) {
                    std::vector<float> y(size_t(rows), NAN);
                    quantMatvec(m.type, m.data(), cols, x.data(), y.data(), withBias ? bias.data() : nullptr, 0, rows, path);
                    for (int64_t r = 0; r < rows; ++r) {
                        double ref = withBias ? bias[size_t(r)] : 0.0, mag = std::fabs(ref);
                        for (int64_t c = 0; c < cols; ++c) {
                            ref += double(m.values[size_t(r * cols + c)]) * x[size_t(c)];
                            mag += std::fabs(double(m.values[size_t(r * cols + c)]) * x[size_t(c)]);
                        }
                        const double n = double(cols + 3), bound = n * kUnitRoundoff / (1 - n * kUnitRoundoff) * mag + 1e-30;
                        QVERIFY2(std::fabs(y[size_t(r)] - ref) <= bound,
                                 qPrintable(QStringLiteral("%1 %2x%3 row %4 on %5: %6 vs %7 (bound %8)")
                                                .arg(quant::quantTypeName(m.type)).arg(rows).arg(cols).arg(r)
                                                .arg(QLatin1String(pathName(path))).arg(y[size_t(r)]).arg(ref).arg(bound)));
                    }
                }
            }
        }
    }

    // Widening is one float multiplication d * q per value on every path: bit-identical.
    void dequantizeRowsIsExactOnEveryPath()
    {
        std::mt19937 rng(7);
        for (QuantType type : {QuantType::Q8_0, QuantType::Q4_0}) {
            const QMatrix m = randomMatrix(type, 37, 288, rng);
            for (Path path : supportedPaths()) {
                std::vector<float> out(size_t(10 * 288), NAN);
                quantDequantizeRows(type, m.data(), 288, 20, 30, out.data(), path);
                QVERIFY(std::memcmp(out.data(), m.values.data() + 20 * 288, out.size() * sizeof(float)) == 0);
            }
        }
    }

    void rowRangeWritesOnlyItsRows()
    {
        std::mt19937 rng(3);
        const QMatrix m = randomMatrix(QuantType::Q4_0, 11, 64, rng);
        const std::vector<float> x = randomVector(64, rng);
        for (Path path : supportedPaths()) {
            std::vector<float> y(11, -7.0f);
            quantMatvec(m.type, m.data(), 64, x.data(), y.data(), nullptr, 3, 9, path);
            for (int r : {0, 1, 2, 9, 10})
                QCOMPARE(y[size_t(r)], -7.0f);
            for (int r = 3; r < 9; ++r)
                QVERIFY(y[size_t(r)] != -7.0f);
        }
    }

    // ops::affine on a quantized weight: one row (matvec) and several rows (scratch + GEMM, with a
    // scratch small enough to take several row blocks) against a float GEMM on the dequantized
    // matrix; embedding lookups widen exactly the rows asked for.
    void affineAndEmbeddingMatchDequantized()
    {
        std::mt19937 rng(11);
        for (QuantType type : {QuantType::Q8_0, QuantType::Q4_0}) {
            const QMatrix m = randomMatrix(type, 100, 256, rng);
            const at::Tensor w = asTensor(m), ref = referenceMatrix(m);
            QCOMPARE(ops::quantTypeOf(w), std::optional<QuantType>(type));
            QVERIFY(!ops::quantTypeOf(ref));
            const at::Tensor bias = at::randn({100});
            const at::Tensor one = at::randn({1, 1, 256}), several = at::randn({2, 5, 256});
            const at::Tensor expectOne = at::linear(one, ref, bias), expectSeveral = at::linear(several, ref, bias);
            QVERIFY((ops::affine(one, w, bias) - expectOne).abs().max().item<float>() < 1e-4f);
            QVERIFY((ops::affine(several, w, bias) - expectSeveral).abs().max().item<float>() < 1e-4f);
            const at::Tensor blocked = ops::affineQuantized(several, w, bias, 3 * 256); // 3 rows per block
            QVERIFY((blocked - expectSeveral).abs().max().item<float>() < 1e-4f);
            QCOMPARE(blocked.sizes().vec(), (std::vector<int64_t>{2, 5, 100}));

            const at::Tensor ids = at::tensor(std::vector<int64_t>{5, 0, 99, 5}, at::kLong).view({2, 2});
            QVERIFY(at::equal(ops::embedding(w, ids), at::embedding(ref, ids)));
            QVERIFY(at::equal(ops::dequantized(w), ref));
            QVERIFY_THROWS_EXCEPTION(std::exception, ops::embedding(w, at::tensor(std::vector<int64_t>{100}, at::kLong)));
            QVERIFY_THROWS_EXCEPTION(std::exception, ops::embedding(w, at::tensor(std::vector<int64_t>{-1}, at::kLong)));
            QVERIFY_THROWS_EXCEPTION(std::exception, ops::affine(at::randn({1, 255}), w));
        }
    }

    // UnitWeights wraps Q8_0 / Q4_0 tensors without copying, widens them whole for get(), keeps
    // 1-D tensors as stored, and refuses a chunk with a NaN or infinite scale when it loads it.
    void unitWeightsLoadAndRefuse()
    {
        std::mt19937 rng(5);
        const QMatrix m = randomMatrix(QuantType::Q8_0, 8, 64, rng);
        const QByteArray norm(64 * 4, '\0');
        auto bytes = std::make_shared<const QByteArray>(serializeSafetensors(
            {{QStringLiteral("norm.weight"), Dtype::F32, {64}, norm}, {QStringLiteral("proj.weight"), Dtype::Q8_0, {8, 64}, m.blocks}}));
        const UnitWeights w = UnitWeights::fromSafetensors(bytes, QStringLiteral("layer_0"));
        QCOMPARE(w.stored(QStringLiteral("proj.weight")).sizes().vec(), (std::vector<int64_t>{8, 2, 34}));
        QCOMPARE(w.stored(QStringLiteral("proj.weight")).data_ptr(), static_cast<const void *>(bytes->constData() + (bytes->size() - m.blocks.size())));
        QVERIFY(at::equal(w.get(QStringLiteral("proj.weight")), referenceMatrix(m)));
        QCOMPARE(w.stored(QStringLiteral("norm.weight")).scalar_type(), at::kFloat);

        for (const uint16_t bad : {uint16_t(0x7e00), uint16_t(0xfc00)}) {
            QByteArray broken = m.blocks;
            std::memcpy(broken.data() + 34 * 13, &bad, 2);
            auto brokenBytes = std::make_shared<const QByteArray>(serializeSafetensors({{QStringLiteral("proj.weight"), Dtype::Q8_0, {8, 64}, broken}}));
            try {
                UnitWeights::fromSafetensors(brokenBytes, QStringLiteral("layer_2"));
                QFAIL("a chunk with a non-finite scale was loaded");
            } catch (const std::exception &e) {
                const QString message = QString::fromUtf8(e.what());
                QVERIFY2(message.contains(QStringLiteral("chunk 'layer_2'")) && message.contains(QStringLiteral("proj.weight"))
                             && message.contains(QStringLiteral("block 13 of 16 has a non-finite scale")),
                         qPrintable(message));
            }
        }
    }
};

QTEST_GUILESS_MAIN(TestQuantKernels)
#include "tst_quantkernels.moc"
