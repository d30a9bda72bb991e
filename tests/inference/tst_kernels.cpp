// The matrix-vector kernels (core/inference/matvec.h) on every path this CPU runs, against a
// double-precision reference, for f32, f16 and bf16 weights and awkward shapes.
//
// Tolerance: f16 and bf16 values are exactly representable in float32, so the dtype changes only
// the weights, not the arithmetic: every path sums n = cols float32 products (FMA or multiply-add)
// in some order, and any order of float32 summation is within gamma(n+1) * sum |w x| of the exact
// sum, gamma(k) = k u / (1 - k u), u = 2^-24 (Higham, Accuracy and Stability, 3.1). The reference
// sums in double from the same decoded weights, whose decoding is checked exhaustively first.
#include "inference/matvec.h"

#include <QtTest>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace surfing::kernels;

namespace {

constexpr double kUnitRoundoff = 0x1p-24;

// Decodes IEEE binary16 by its definition, independently of the code under test.
double halfByDefinition(uint16_t h)
{
    const int sign = h >> 15, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    double v;
    if (exponent == 0)
        v = std::ldexp(double(mantissa), -24);
    else if (exponent == 31)
        v = mantissa ? std::nan("") : INFINITY;
    else
        v = std::ldexp(1.0 + mantissa / 1024.0, exponent - 15);
    return sign ? -v : v;
}

double bf16ByDefinition(uint16_t h)
{
    const int sign = h >> 15, exponent = (h >> 7) & 0xff, mantissa = h & 0x7f;
    double v;
    if (exponent == 0)
        v = std::ldexp(double(mantissa), -133);
    else if (exponent == 255)
        v = mantissa ? std::nan("") : INFINITY;
    else
        v = std::ldexp(1.0 + mantissa / 128.0, exponent - 127);
    return sign ? -v : v;
}

struct Matrix {
    WeightType type = WeightType::F32;
    int64_t rows = 0, cols = 0;
    std::vector<float> f32;
    std::vector<uint16_t> half;
    std::vector<double> decoded; // the exact values the kernels must see

    const void *data() const { return type == WeightType::F32 ? static_cast<const void *>(f32.data()) : half.data(); }
};

Matrix randomMatrix(WeightType type, int64_t rows, int64_t cols, std::mt19937 &rng)
{
    std::normal_distribution<float> normal(0.0f, 1.0f);
    Matrix m;
    m.type = type;
    m.rows = rows;
    m.cols = cols;
    const size_t n = size_t(rows * cols);
    m.decoded.resize(n);
    if (type == WeightType::F32) {
        m.f32.resize(n);
        for (size_t i = 0; i < n; ++i)
            m.decoded[i] = m.f32[i] = normal(rng);
    } else {
        m.half.resize(n);
        std::uniform_int_distribution<int> bits(0, 0xffff);
        for (size_t i = 0; i < n; ++i) {
            // Random bit patterns of finite values with exponents that keep products in range.
            uint16_t h;
            do {
                h = uint16_t(bits(rng));
            } while (type == WeightType::F16 ? ((h & 0x7c00) == 0x7c00 || ((h >> 10) & 0x1f) > 18)
                                             : (((h >> 7) & 0xff) > 130 || ((h >> 7) & 0xff) < 100));
            m.half[i] = h;
            m.decoded[i] = type == WeightType::F16 ? halfByDefinition(h) : bf16ByDefinition(h);
        }
    }
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

const char *typeName(WeightType t)
{
    return t == WeightType::F32 ? "f32" : t == WeightType::F16 ? "f16" : "bf16";
}

std::vector<Path> supportedPaths()
{
    std::vector<Path> paths;
    for (Path p : {Path::Portable, Path::Avx2, Path::Avx512})
        if (isSupported(p))
            paths.push_back(p);
    return paths;
}

const std::vector<std::pair<int64_t, int64_t>> kShapes = {
    {1, 1}, {1, 7}, {7, 1}, {3, 5}, {4, 8}, {5, 17}, {13, 31}, {31, 33}, {33, 65}, {64, 64},
    {127, 255}, {257, 1000}, {1000, 1023}, {300, 4099}};

} // namespace

class TestKernels : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void halfDecodesEveryValue();
    void bf16DecodesEveryValue();
    void widenMatchesPortableOnEveryPath();
    void matvecMatchesReference_data();
    void matvecMatchesReference();
    void vecmatMatchesReference_data();
    void vecmatMatchesReference();
    void rowRangeWritesOnlyItsRows();
    void pathNamesParseAndClamp();
};

void TestKernels::halfDecodesEveryValue()
{
    for (uint32_t b = 0; b <= 0xffff; ++b) {
        const double expected = halfByDefinition(uint16_t(b));
        const float got = halfToFloat(uint16_t(b));
        if (std::isnan(expected))
            QVERIFY2(std::isnan(got), qPrintable(QString::number(b, 16)));
        else
            QVERIFY2(double(got) == expected && std::signbit(got) == std::signbit(expected), qPrintable(QString::number(b, 16)));
    }
    QCOMPARE(halfToFloat(0x3c00), 1.0f);
    QCOMPARE(halfToFloat(0x7bff), 65504.0f);
    QCOMPARE(halfToFloat(0x0001), 0x1p-24f);
}

void TestKernels::bf16DecodesEveryValue()
{
    for (uint32_t b = 0; b <= 0xffff; ++b) {
        const double expected = bf16ByDefinition(uint16_t(b));
        const float got = bf16ToFloat(uint16_t(b));
        if (std::isnan(expected))
            QVERIFY2(std::isnan(got), qPrintable(QString::number(b, 16)));
        else
            QVERIFY2(double(got) == expected, qPrintable(QString::number(b, 16)));
    }
}

void TestKernels::widenMatchesPortableOnEveryPath()
{
    std::vector<uint16_t> all(0x10000 + 5);
    for (size_t i = 0; i < all.size(); ++i)
        all[i] = uint16_t(i);
    std::vector<float> f32(all.size());
    for (size_t i = 0; i < f32.size(); ++i)
        f32[i] = float(i) * 0.37f - 11.0f;
    for (WeightType type : {WeightType::F32, WeightType::F16, WeightType::BF16}) {
        const void *src = type == WeightType::F32 ? static_cast<const void *>(f32.data()) : all.data();
        // Every length up to 40 (tails of every size), then all 65541 values from an odd offset.
        for (int64_t n : {int64_t(0), int64_t(1), int64_t(7), int64_t(15), int64_t(17), int64_t(33), int64_t(40), int64_t(all.size())}) {
            std::vector<float> expected(size_t(n) + 1, -7.0f);
            widen(type, src, expected.data(), n, Path::Portable);
            for (Path path : supportedPaths()) {
                std::vector<float> got(size_t(n) + 1, -7.0f);
                widen(type, src, got.data(), n, path);
                for (size_t i = 0; i <= size_t(n); ++i) {
                    const bool same = std::memcmp(&got[i], &expected[i], sizeof(float)) == 0
                                      || (std::isnan(got[i]) && std::isnan(expected[i]));
                    QVERIFY2(same, qPrintable(QStringLiteral("%1 %2 n=%3 i=%4").arg(QLatin1String(typeName(type)), QLatin1String(pathName(path))).arg(n).arg(i)));
                }
            }
        }
    }
}

void TestKernels::matvecMatchesReference_data()
{
    QTest::addColumn<int>("type");
    for (WeightType t : {WeightType::F32, WeightType::F16, WeightType::BF16})
        QTest::newRow(typeName(t)) << int(t);
}

void TestKernels::matvecMatchesReference()
{
    QFETCH(int, type);
    std::mt19937 rng(uint32_t(11 + type));
    for (const auto &[rows, cols] : kShapes) {
        const Matrix w = randomMatrix(WeightType(type), rows, cols, rng);
        const std::vector<float> x = randomVector(cols, rng), bias = randomVector(rows, rng);
        std::vector<float> portable(static_cast<size_t>(rows));
        matvec(w.type, w.data(), rows, cols, x.data(), portable.data(), bias.data(), 0, rows, Path::Portable);
        for (Path path : supportedPaths()) {
            for (const float *b : {static_cast<const float *>(nullptr), bias.data()}) {
                std::vector<float> y(size_t(rows), NAN);
                matvec(w.type, w.data(), rows, cols, x.data(), y.data(), b, 0, rows, path);
                for (int64_t r = 0; r < rows; ++r) {
                    double exact = b ? b[r] : 0.0, magnitude = b ? std::fabs(b[r]) : 0.0;
                    for (int64_t c = 0; c < cols; ++c) {
                        exact += w.decoded[size_t(r * cols + c)] * x[size_t(c)];
                        magnitude += std::fabs(w.decoded[size_t(r * cols + c)] * x[size_t(c)]);
                    }
                    const double k = double(cols + 2) * kUnitRoundoff;
                    const double bound = k / (1 - k) * magnitude;
                    // Both within the bound of the exact value, so within twice it of each other.
                    if (b)
                        QVERIFY(std::fabs(y[size_t(r)] - portable[size_t(r)]) <= 2 * bound);
                    QVERIFY2(std::fabs(y[size_t(r)] - exact) <= bound,
                             qPrintable(QStringLiteral("%1 %2x%3 %4 row %5: %6 vs %7 (bound %8)")
                                            .arg(QLatin1String(typeName(w.type))).arg(rows).arg(cols)
                                            .arg(QLatin1String(pathName(path))).arg(r).arg(y[size_t(r)]).arg(exact).arg(bound)));
                }
            }
        }
    }
}

void TestKernels::vecmatMatchesReference_data()
{
    matvecMatchesReference_data();
}

void TestKernels::vecmatMatchesReference()
{
    QFETCH(int, type);
    std::mt19937 rng(uint32_t(23 + type));
    for (const auto &[in, out] : kShapes) {
        const Matrix w = randomMatrix(WeightType(type), in, out, rng);
        const std::vector<float> x = randomVector(in, rng), bias = randomVector(out, rng);
        for (Path path : supportedPaths()) {
            std::vector<float> y(size_t(out), NAN);
            vecmat(w.type, w.data(), in, out, x.data(), y.data(), bias.data(), 0, out, path);
            for (int64_t o = 0; o < out; ++o) {
                double exact = bias[size_t(o)], magnitude = std::fabs(bias[size_t(o)]);
                for (int64_t i = 0; i < in; ++i) {
                    exact += x[size_t(i)] * w.decoded[size_t(i * out + o)];
                    magnitude += std::fabs(x[size_t(i)] * w.decoded[size_t(i * out + o)]);
                }
                const double k = double(in + 2) * kUnitRoundoff;
                QVERIFY2(std::fabs(y[size_t(o)] - exact) <= k / (1 - k) * magnitude,
                         qPrintable(QStringLiteral("%1 %2x%3 %4 col %5: %6 vs %7")
                                        .arg(QLatin1String(typeName(w.type))).arg(in).arg(out)
                                        .arg(QLatin1String(pathName(path))).arg(o).arg(y[size_t(o)]).arg(exact)));
            }
        }
    }
}

void TestKernels::rowRangeWritesOnlyItsRows()
{
    // Threads split the rows (or GPT-2's columns): a range writes its own outputs and nothing else.
    std::mt19937 rng(5);
    for (WeightType type : {WeightType::F32, WeightType::F16, WeightType::BF16}) {
        const Matrix w = randomMatrix(type, 45, 37, rng);
        const std::vector<float> x = randomVector(45, rng);
        for (Path path : supportedPaths()) {
            std::vector<float> whole(45), part(45, -123.0f);
            matvec(type, w.data(), 45, 37, x.data(), whole.data(), nullptr, 0, 45, path);
            matvec(type, w.data(), 45, 37, x.data(), part.data(), nullptr, 6, 23, path);
            for (int r = 0; r < 45; ++r) {
                if (r >= 6 && r < 23)
                    QVERIFY(std::fabs(part[size_t(r)] - whole[size_t(r)]) <= 1e-5f * (1 + std::fabs(whole[size_t(r)])));
                else
                    QCOMPARE(part[size_t(r)], -123.0f);
            }
            std::vector<float> cols(37), colPart(37, -123.0f);
            vecmat(type, w.data(), 45, 37, x.data(), cols.data(), nullptr, 0, 37, path);
            vecmat(type, w.data(), 45, 37, x.data(), colPart.data(), nullptr, 3, 29, path);
            // A column may fall in a vector block of one range and the scalar tail of the other.
            for (int o = 0; o < 37; ++o) {
                if (o >= 3 && o < 29)
                    QVERIFY(std::fabs(colPart[size_t(o)] - cols[size_t(o)]) <= 1e-5f * (1 + std::fabs(cols[size_t(o)])));
                else
                    QCOMPARE(colPart[size_t(o)], -123.0f);
            }
        }
    }
}

void TestKernels::pathNamesParseAndClamp()
{
    Path p = Path::Avx512;
    QVERIFY(parsePath("portable", p));
    QCOMPARE(p, Path::Portable);
    QVERIFY(parsePath("auto", p));
    QCOMPARE(p, bestSupportedPath());
    QVERIFY(parsePath("", p));
    QCOMPARE(p, bestSupportedPath());
    // Asking for more than the CPU has gives the best it has, never an instruction it lacks.
    QVERIFY(parsePath("avx512", p));
    QVERIFY(isSupported(p));
    QVERIFY(parsePath("avx2", p));
    QVERIFY(isSupported(p));
    QVERIFY(int(p) <= int(Path::Avx2));
    p = Path::Portable;
    QVERIFY(!parsePath("sse9", p));
    QCOMPARE(p, Path::Portable);
    QVERIFY(isSupported(Path::Portable));
    QVERIFY(isSupported(activePath()));
    QCOMPARE(QString::fromLatin1(pathName(Path::Avx2)), QStringLiteral("avx2"));
    qInfo("this CPU: best path %s, active %s", pathName(bestSupportedPath()), pathName(activePath()));
}

QTEST_GUILESS_MAIN(TestKernels)
#include "tst_kernels.moc"
