// Micro benchmark of the linear layers on stored weights (core/inference/linearops.h, matvec.h)
// against libtorch with the BLAS it loads, on the shapes of the 1 GB generated LLaMA
// (hidden 1024, intermediate 2816, vocab 32000):
//
//   decode  one row: the matvec kernel (each path this CPU runs, rows split over the case's
//           threads by forOutputRanges; with 2 threads also "kernel, not split") and ops::affine
//           (what the models call: the best path, split the same way) vs at::linear (BLAS GEMM),
//           at::mv (BLAS GEMV) for f32, and for f16/bf16 the old per-step path (widen the whole
//           matrix, then at::linear); 1 and 2 threads; 256x1024 is a matrix that stays in L2.
//           One matrix is used again and again, so a CPU with a large L3 (260 MiB on the
//           benchmark machine) serves it from cache: whole-model runs (bench_inference,
//           bench/run-peer.sh) show what DRAM allows, and there two threads do gain.
//   prompt  128 rows: f32 at::linear vs f16/bf16 widened block by block (scratch sizes) or whole
//
// Every method of a case runs once per rep, interleaved, and the median over reps is printed; a
// rep times enough calls to last ~20 ms. --count CASE runs one case --iters times between
// callgrind start/stop requests: `valgrind --tool=callgrind --instr-atstart=no bench_matvec
// --count ...` then gives its instruction count, which machine load does not change.
#include "inference/computethreads.h"
#include "inference/linearops.h"
#include "inference/matvec.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <QCommandLineParser>
#include <QCoreApplication>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

using namespace surfing;

namespace {

struct Method {
    QString name;
    std::function<void()> run;
};

struct Case {
    QString name; // "decode f16 2816x1024"
    double weightBytes = 0;
    int threads = 1;
    std::vector<Method> methods;
};

double seconds(const std::function<void()> &f, int calls)
{
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < calls; ++i)
        f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / calls;
}

const char *dtypeName(at::ScalarType t)
{
    return t == at::kFloat ? "f32" : t == at::kHalf ? "f16" : "bf16";
}

Case decodeCase(int64_t out, int64_t in, at::ScalarType type, int threads)
{
    const at::Tensor w = at::randn({out, in}).to(type);
    const at::Tensor x = at::randn({1, 1, in});
    Case c;
    c.name = QStringLiteral("decode %1 %2x%3 t%4").arg(QLatin1String(dtypeName(type))).arg(out).arg(in).arg(threads);
    c.weightBytes = double(w.nbytes());
    c.threads = threads;
    for (kernels::Path p : {kernels::Path::Portable, kernels::Path::Avx2, kernels::Path::Avx512}) {
        if (!kernels::isSupported(p) || (p == kernels::Path::Portable && type != at::kFloat && threads > 1))
            continue;
        const kernels::WeightType wt = type == at::kFloat ? kernels::WeightType::F32
                                       : type == at::kHalf ? kernels::WeightType::F16
                                                           : kernels::WeightType::BF16;
        at::Tensor y = at::empty({out});
        c.methods.push_back({QStringLiteral("kernel %1").arg(QLatin1String(kernels::pathName(p))), [=]() mutable {
                                 const float *xp = x.data_ptr<float>();
                                 float *yp = y.data_ptr<float>();
                                 const void *wp = w.data_ptr();
                                 forOutputRanges(out, w.nbytes(), [&](int64_t b, int64_t e) {
                                     kernels::matvec(wt, wp, out, in, xp, yp, nullptr, b, e, p);
                                 });
                             }});
    }
    c.methods.push_back({QStringLiteral("ops::affine"), [=] { ops::affine(x, w); }});
    if (threads > 1) { // the whole product on the calling thread, interleaved with the split one
        const kernels::WeightType wt = type == at::kFloat ? kernels::WeightType::F32
                                       : type == at::kHalf ? kernels::WeightType::F16
                                                           : kernels::WeightType::BF16;
        at::Tensor y = at::empty({out});
        c.methods.push_back({QStringLiteral("kernel, not split"), [=]() mutable {
                                 kernels::matvec(wt, w.data_ptr(), out, in, x.data_ptr<float>(), y.data_ptr<float>(),
                                                 nullptr, 0, out);
                             }});
    }
    if (type == at::kFloat) {
        c.methods.push_back({QStringLiteral("at::linear (GEMM)"), [=] { at::linear(x, w); }});
        const at::Tensor v = x.view({in});
        c.methods.push_back({QStringLiteral("at::mv (GEMV)"), [=] { at::mv(w, v); }});
    } else {
        c.methods.push_back({QStringLiteral("old: widen + at::linear"), [=] { at::linear(x, w.to(at::kFloat)); }});
    }
    return c;
}

Case promptCase(int64_t out, int64_t in, at::ScalarType type, int threads, int64_t rows)
{
    const at::Tensor w = at::randn({out, in}).to(type);
    const at::Tensor x = at::randn({1, rows, in});
    Case c;
    c.name = QStringLiteral("prompt%1 %2 %3x%4 t%5").arg(rows).arg(QLatin1String(dtypeName(type))).arg(out).arg(in).arg(threads);
    c.weightBytes = double(w.nbytes());
    c.threads = threads;
    if (type == at::kFloat) {
        c.methods.push_back({QStringLiteral("at::linear"), [=] { at::linear(x, w); }});
        return c;
    }
    c.methods.push_back({QStringLiteral("ops::affine"), [=] { ops::affine(x, w); }});
    for (int64_t floats : {int64_t(1) << 16, int64_t(1) << 18, int64_t(1) << 20, out * in})
        c.methods.push_back({QStringLiteral("scratch %1 KiB").arg(floats * 4 / 1024), [=] { ops::affineWidened(x, w, {}, floats); }});
    c.methods.push_back({QStringLiteral("old: widen + at::linear"), [=] { at::linear(x, w.to(at::kFloat)); }});
    return c;
}

// Cases are made only when their name passes the filter: the 32000x1024 matrices are large.
std::vector<Case> allCases(const QStringList &threads, const QString &prefix)
{
    std::vector<std::pair<QString, std::function<Case()>>> specs;
    const std::vector<std::pair<int64_t, int64_t>> shapes{{2816, 1024}, {1024, 2816}, {32000, 1024}, {256, 1024}};
    for (const QString &t : threads) {
        const int n = t.toInt();
        for (at::ScalarType type : {at::kFloat, at::kHalf, at::kBFloat16}) {
            const QString d = QLatin1String(dtypeName(type));
            for (const auto &[out, in] : shapes) {
                const int64_t o = out, i = in;
                specs.push_back({QStringLiteral("decode %1 %2x%3 t%4").arg(d).arg(o).arg(i).arg(n),
                                 [=] { return decodeCase(o, i, type, n); }});
                if (out == 2816 || in == 2816)
                    specs.push_back({QStringLiteral("prompt128 %1 %2x%3 t%4").arg(d).arg(o).arg(i).arg(n),
                                     [=] { return promptCase(o, i, type, n, 128); }});
            }
        }
    }
    std::vector<Case> cases;
    for (const auto &[name, make] : specs)
        if (name.startsWith(prefix))
            cases.push_back(make());
    return cases;
}

void runCase(Case &c, int reps)
{
    setComputeThreads(c.threads);
    std::vector<int> calls;
    for (Method &m : c.methods) {
        const double once = seconds(m.run, 1);
        calls.push_back(std::clamp(int(0.02 / std::max(once, 1e-7)), 1, 2000));
    }
    std::map<size_t, std::vector<double>> times;
    for (int r = 0; r < reps; ++r)
        for (size_t i = 0; i < c.methods.size(); ++i)
            times[i].push_back(seconds(c.methods[i].run, calls[i]));
    for (size_t i = 0; i < c.methods.size(); ++i) {
        std::vector<double> &v = times[i];
        std::sort(v.begin(), v.end());
        const double median = v[v.size() / 2];
        std::printf("| %s | %s | %.1f | %.1f | %.1f |\n", qPrintable(c.name), qPrintable(c.methods[i].name),
                    median * 1e6, v.front() * 1e6, c.weightBytes / median / 1e9);
        std::fflush(stdout);
    }
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Matrix-vector kernels vs libtorch/BLAS"));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("reps"), QStringLiteral("Interleaved reps (median)."), QStringLiteral("n"), QStringLiteral("15")});
    parser.addOption({QStringLiteral("threads"), QStringLiteral("Intra-op thread counts, comma-separated."), QStringLiteral("list"), QStringLiteral("1,2")});
    parser.addOption({QStringLiteral("only"), QStringLiteral("Cases whose name starts with this."), QStringLiteral("prefix")});
    parser.addOption({QStringLiteral("count"), QStringLiteral("Run case CASE, method METHOD --iters times under callgrind requests."), QStringLiteral("case/method")});
    parser.addOption({QStringLiteral("iters"), QStringLiteral("Calls for --count."), QStringLiteral("n"), QStringLiteral("20")});
    parser.process(app);

    if (parser.isSet(QStringLiteral("count"))) {
        const QStringList parts = parser.value(QStringLiteral("count")).split(QLatin1Char('/'));
        std::vector<Case> cases = allCases(parser.value(QStringLiteral("threads")).split(QLatin1Char(',')), parts.value(0));
        for (Case &c : cases) {
            if (c.name != parts.value(0))
                continue;
            setComputeThreads(1);
            for (Method &m : c.methods) {
                if (m.name != parts.value(1))
                    continue;
                m.run(); // warm: first-touch page faults and lazy initialisation stay out of the count
                const int iters = parser.value(QStringLiteral("iters")).toInt();
                CALLGRIND_START_INSTRUMENTATION;
                for (int i = 0; i < iters; ++i)
                    m.run();
                CALLGRIND_STOP_INSTRUMENTATION;
                std::printf("%s / %s: %d calls\n", qPrintable(c.name), qPrintable(m.name), iters);
                return 0;
            }
        }
        std::fprintf(stderr, "no case/method %s\n", qPrintable(parser.value(QStringLiteral("count"))));
        return 2;
    }

    std::printf("best kernel path on this CPU: %s\n\n", kernels::pathName(kernels::bestSupportedPath()));
    if (qEnvironmentVariableIsSet("BENCH_PARALLEL_INFO"))
        std::printf("%s\n", at::get_parallel_info().c_str());
    std::printf("| case | method | median us | best us | GB/s of weights |\n|---|---|---:|---:|---:|\n");
    std::vector<Case> cases = allCases(parser.value(QStringLiteral("threads")).split(QLatin1Char(',')),
                                       parser.value(QStringLiteral("only")));
    const int reps = parser.value(QStringLiteral("reps")).toInt();
    for (Case &c : cases)
        runCase(c, reps);
    return 0;
}
