// Linear layers on weights in their stored dtype (core/inference/linearops.h, unitweights.h):
// chunks stay f16/bf16 as zero-copy views, one-row products go through the matvec kernels, several
// rows through the blockwise widening + GEMM, and every result matches a float64 linear layer.
#include "format/safetensors.h"
#include "inference/blasinfo.h"
#include "inference/computethreads.h"
#include "inference/linearops.h"
#include "inference/unitweights.h"

#include <ATen/Parallel.h>
#include <QtTest>

#include <mutex>
#include <set>

using namespace surfing;

namespace {

at::ScalarType scalarType(const char *name)
{
    const QByteArray n(name);
    return n == "f32" ? at::kFloat : n == "f16" ? at::kHalf : at::kBFloat16;
}

// float32 summation of n products is within (n + 2) u sum |w x| of the exact value (u = 2^-24).
void verifyClose(const at::Tensor &got, const at::Tensor &x, const at::Tensor &w, const at::Tensor &bias, bool inOut,
                 const char *what)
{
    const at::Tensor xd = x.to(at::kDouble), wd = w.to(at::kDouble);
    at::Tensor exact = inOut ? at::matmul(xd, wd) : at::matmul(xd, wd.t());
    at::Tensor magnitude = inOut ? at::matmul(xd.abs(), wd.abs()) : at::matmul(xd.abs(), wd.abs().t());
    if (bias.defined()) {
        exact = exact + bias.to(at::kDouble);
        magnitude = magnitude + bias.to(at::kDouble).abs();
    }
    const int64_t n = x.size(-1);
    const at::Tensor excess = (got.to(at::kDouble) - exact).abs() - magnitude * (double(n + 2) * 0x1p-24);
    QVERIFY2(got.sizes() == exact.sizes(), what);
    QVERIFY2(got.scalar_type() == at::kFloat, what);
    QVERIFY2(excess.max().item<double>() <= 0.0, qPrintable(QStringLiteral("%1: off by %2 beyond the bound")
                                                                .arg(QLatin1String(what)).arg(excess.max().item<double>())));
}

} // namespace

class TestLinearOps : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void storedTensorsStayInTheChunkBytes();
    void affine_data();
    void affine();
    void affineInOut_data();
    void affineInOut();
    void widenedBlocksOfAnySize();
    void embeddingWidensSelectedRows();
    void otherDtypesFallBackToLibtorch();
    void blasThreadsFollowTheSetting();
    void largeProductsUseEveryComputeThread();
    void splitProductsEqualUnsplitOnes();
};

void TestLinearOps::storedTensorsStayInTheChunkBytes()
{
    // A cached f16/bf16 chunk must not be widened on each step: stored() is a view of its bytes.
    const at::Tensor f32 = at::randn({5, 3});
    const at::Tensor f16 = f32.to(at::kHalf), bf16 = f32.to(at::kBFloat16);
    const auto view = [](const char *name, Dtype dtype, const at::Tensor &t) {
        return TensorView{QLatin1String(name), dtype, {t.size(0), t.size(1)},
                          QByteArrayView(static_cast<const char *>(t.data_ptr()), qsizetype(t.nbytes()))};
    };
    const auto bytes = std::make_shared<const QByteArray>(serializeSafetensors(
        {view("a", Dtype::F16, f16), view("b", Dtype::BF16, bf16), view("c", Dtype::F32, f32)}, {}));
    const UnitWeights w = UnitWeights::fromSafetensors(bytes, QStringLiteral("unit"));
    const char *begin = bytes->constData(), *end = begin + bytes->size();
    for (const char *key : {"a", "b", "c"}) {
        const at::Tensor t = w.stored(QLatin1String(key));
        const char *p = static_cast<const char *>(t.data_ptr());
        QVERIFY2(p >= begin && p + t.nbytes() <= end, key);
        QCOMPARE(w.get(QLatin1String(key)).scalar_type(), at::kFloat);
    }
    QCOMPARE(w.stored(QStringLiteral("a")).scalar_type(), at::kHalf);
    QCOMPARE(w.stored(QStringLiteral("b")).scalar_type(), at::kBFloat16);
    QVERIFY(at::equal(w.get(QStringLiteral("a")), f16.to(at::kFloat)));
    QVERIFY(at::equal(w.get(QStringLiteral("b")), bf16.to(at::kFloat)));
    QVERIFY(at::equal(w.get(QStringLiteral("c")), f32));
}

void TestLinearOps::affine_data()
{
    QTest::addColumn<QByteArray>("dtype");
    QTest::addColumn<int>("threads");
    for (const char *d : {"f32", "f16", "bf16"})
        for (int threads : {1, 2})
            QTest::addRow("%s, %d threads", d, threads) << QByteArray(d) << threads;
}

void TestLinearOps::affine()
{
    QFETCH(QByteArray, dtype);
    QFETCH(int, threads);
    setComputeThreads(threads);
    at::manual_seed(7);
    for (const auto &[out, in] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {3, 5}, {37, 29}, {300, 517}, {2051, 1024}}) {
        const at::Tensor w = at::randn({out, in}).to(scalarType(dtype.constData()));
        const at::Tensor bias = at::randn({out});
        for (const std::vector<int64_t> &shape : std::vector<std::vector<int64_t>>{{1, in}, {1, 1, in}, {in}, {1, 4, in}, {3, 2, in}}) {
            const at::Tensor x = at::randn(shape);
            const QByteArray what = dtype + " [" + QByteArray::number(out) + "," + QByteArray::number(in) + "] rows "
                                    + QByteArray::number(x.numel() / in);
            verifyClose(ops::affine(x, w, bias), x, w, bias, false, what.constData());
            verifyClose(ops::affine(x, w), x, w, {}, false, what.constData());
        }
        // A transposed (non-contiguous) x and the last row of a prompt, as the LM head gets it.
        const at::Tensor prompt = at::randn({1, 6, in});
        verifyClose(ops::affine(prompt.narrow(1, 5, 1), w, bias), prompt.narrow(1, 5, 1), w, bias, false, "last row");
    }
    setComputeThreads(1);
}

void TestLinearOps::affineInOut_data()
{
    affine_data();
}

void TestLinearOps::affineInOut()
{
    QFETCH(QByteArray, dtype);
    QFETCH(int, threads);
    setComputeThreads(threads);
    at::manual_seed(9);
    for (const auto &[in, out] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {5, 3}, {29, 37}, {517, 300}, {768, 2304}}) {
        const at::Tensor w = at::randn({in, out}).to(scalarType(dtype.constData()));
        const at::Tensor bias = at::randn({out});
        for (const std::vector<int64_t> &shape : std::vector<std::vector<int64_t>>{{1, 1, in}, {1, 7, in}, {2, 3, in}}) {
            const at::Tensor x = at::randn(shape);
            const QByteArray what = dtype + " in/out [" + QByteArray::number(in) + "," + QByteArray::number(out) + "]";
            verifyClose(ops::affineInOut(x, w, bias), x, w, bias, true, what.constData());
        }
    }
    setComputeThreads(1);
}

void TestLinearOps::widenedBlocksOfAnySize()
{
    // Scratch sizes that split W into blocks of 1, 3 and 7 rows and one that holds it all.
    at::manual_seed(3);
    for (at::ScalarType type : {at::kHalf, at::kBFloat16}) {
        const at::Tensor w = at::randn({23, 41}).to(type), bias = at::randn({23}), x = at::randn({2, 5, 41});
        for (int64_t scratch : {int64_t(1), int64_t(41 * 3), int64_t(41 * 7 + 40), int64_t(1) << 20})
            verifyClose(ops::affineWidened(x, w, bias, scratch), x, w, bias, false, qPrintable(QString::number(scratch)));
    }
}

void TestLinearOps::embeddingWidensSelectedRows()
{
    const at::Tensor table = at::randn({50, 8});
    const at::Tensor ids = at::tensor(std::vector<int64_t>{3, 0, 49, 3}, at::kLong).view({2, 2});
    for (at::ScalarType type : {at::kFloat, at::kHalf, at::kBFloat16}) {
        const at::Tensor stored = table.to(type);
        const at::Tensor rows = ops::embedding(stored, ids);
        QCOMPARE(rows.scalar_type(), at::kFloat);
        QVERIFY(at::equal(rows, at::embedding(stored.to(at::kFloat), ids)));
    }
}

void TestLinearOps::otherDtypesFallBackToLibtorch()
{
    const at::Tensor w = at::randn({4, 6}, at::kDouble), x = at::randn({1, 6}, at::kDouble);
    QVERIFY(at::allclose(ops::affine(x, w), at::linear(x, w)));
    const at::Tensor wf = at::randn({4, 6}).to(at::kHalf);
    QVERIFY(at::allclose(ops::affine(x, wf), at::linear(x, wf.to(at::kDouble))));
}

QTEST_GUILESS_MAIN(TestLinearOps)
void TestLinearOps::blasThreadsFollowTheSetting()
{
    // at::set_num_threads does not reach OpenBLAS or BLIS: without setBlasThreads, `--threads 1`
    // still ran prompt products on every core.
    if (blasThreads() == 0)
        QSKIP("the loaded BLAS has no thread count (reference BLAS)");
    setBlasThreads(1);
    QCOMPARE(blasThreads(), 1);
    setBlasThreads(2);
    QCOMPARE(blasThreads(), 2);
}

void TestLinearOps::largeProductsUseEveryComputeThread()
{
    // ATen's at::parallel_for, compiled into a file without OpenMP, ran every range on the calling
    // thread: `--threads 2` left generation at one core's memory bandwidth.
    const auto threadsUsed = [](int64_t outputs, size_t bytes) {
        std::mutex mutex;
        std::set<int> seen;
        int64_t covered = 0;
        forOutputRanges(outputs, bytes, [&](int64_t begin, int64_t end) {
            std::lock_guard lock(mutex);
            seen.insert(omp_get_thread_num());
            covered += end - begin;
        });
        return std::make_pair(int(seen.size()), covered);
    };
    setComputeThreads(2);
    QCOMPARE(computeThreads(), 2);
    QCOMPARE(threadsUsed(4096, size_t(16) << 20), std::make_pair(2, int64_t(4096)));
    QCOMPARE(threadsUsed(4096, 4096), std::make_pair(1, int64_t(4096))); // small: not worth a wake-up
    QCOMPARE(threadsUsed(3, size_t(16) << 20), std::make_pair(1, int64_t(3)));
    setComputeThreads(1);
    QCOMPARE(threadsUsed(4096, size_t(16) << 20), std::make_pair(1, int64_t(4096)));
    QCOMPARE(at::get_num_threads(), 1); // libtorch's own pool stays at one thread
}

void TestLinearOps::splitProductsEqualUnsplitOnes()
{
    at::manual_seed(11);
    for (at::ScalarType type : {at::kFloat, at::kHalf, at::kBFloat16}) {
        const at::Tensor w = at::randn({1031, 1024}).to(type), bias = at::randn({1031}), x = at::randn({1, 1, 1024});
        const at::Tensor wInOut = at::randn({1024, 1031}).to(type);
        setComputeThreads(1);
        const at::Tensor one = ops::affine(x, w, bias), oneInOut = ops::affineInOut(x, wInOut, bias);
        setComputeThreads(2);
        QVERIFY(at::equal(ops::affine(x, w, bias), one));
        QVERIFY(at::equal(ops::affineInOut(x, wInOut, bias), oneInOut));
    }
    setComputeThreads(1);
}

#include "tst_linearops.moc"
