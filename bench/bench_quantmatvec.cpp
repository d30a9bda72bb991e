// Matrix-vector products from Q8_0 / Q4_0 blocks (inference/quantmatvec.h) against the f32 kernel
// on the same shapes, on every path the CPU runs: milliseconds per product (best of REPS) and the
// weight bytes read per second. Shapes of the 1 GB benchmark model (hidden 1024, intermediate
// 2816, vocab 32000).
//   bench_quantmatvec [REPS]
#include "format/quant.h"
#include "inference/matvec.h"
#include "inference/quantmatvec.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

using namespace surfing;
using namespace surfing::kernels;

namespace {

template <typename F>
double bestMs(int reps, F &&f)
{
    double best = 1e30;
    for (int i = 0; i < reps; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        const auto t1 = std::chrono::steady_clock::now();
        best = std::min(best, std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    return best;
}

} // namespace

int main(int argc, char **argv)
{
    const int reps = argc > 1 ? std::atoi(argv[1]) : 20;
    const std::pair<int64_t, int64_t> shapes[] = {{2816, 1024}, {1024, 2816}, {32000, 1024}};
    std::mt19937 rng(1);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    std::printf("| shape | path | f32 ms (GB/s) | q8_0 ms (GB/s) | q4_0 ms (GB/s) |\n|---|---|---|---|---|\n");
    for (const auto &[rows, cols] : shapes) {
        std::vector<float> w(static_cast<size_t>(rows * cols)), x(static_cast<size_t>(cols)), y(static_cast<size_t>(rows));
        for (float &v : w)
            v = normal(rng);
        for (float &v : x)
            v = normal(rng);
        const QByteArray q8 = quant::quantize(quant::QuantType::Q8_0, w.data(), rows * cols);
        const QByteArray q4 = quant::quantize(quant::QuantType::Q4_0, w.data(), rows * cols);
        for (Path path : {Path::Portable, Path::Avx2, Path::Avx512}) {
            if (!isSupported(path))
                continue;
            const double f32 = bestMs(reps, [&] { matvec(WeightType::F32, w.data(), rows, cols, x.data(), y.data(), nullptr, 0, rows, path); });
            const auto quantMs = [&](quant::QuantType type, const QByteArray &blocks) {
                return bestMs(reps, [&] {
                    quantMatvec(type, reinterpret_cast<const uint8_t *>(blocks.constData()), cols, x.data(), y.data(), nullptr, 0, rows, path);
                });
            };
            const double m8 = quantMs(quant::QuantType::Q8_0, q8), m4 = quantMs(quant::QuantType::Q4_0, q4);
            const auto gbs = [](double bytes, double ms) { return bytes / ms / 1e6; };
            std::printf("| %lldx%lld | %s | %.3f (%.1f) | %.3f (%.1f) | %.3f (%.1f) |\n", (long long)rows, (long long)cols,
                        pathName(path), f32, gbs(double(w.size()) * 4, f32), m8, gbs(q8.size(), m8), m4, gbs(q4.size(), m4));
        }
    }
    return 0;
}
