// Compression of real trained weights: zstd with byte grouping (the chunk codec) against plain
// zstd at the same level, in float32 and cast to bfloat16. Ratio, and compress / decompress MB/s
// on one core, per second of the thread's CPU time (on a shared machine wall time measures the
// neighbours). Prints a Markdown table.
// Usage: bench_compression MODEL_DIR [LEVELS...]   (default levels 1 3 9 19)
#include "base/error.h"
#include "format/checkpoint.h"
#include "format/chunkcodec.h"
#include "format/dtypeconvert.h"
#include "format/safetensors.h"

#include <QCoreApplication>
#include <cstdio>
#include <ctime>
#include <deque>
#include <zstd.h>

using namespace surfing;

namespace {

// The whole model as one safetensors buffer, optionally cast to bf16.
QByteArray modelBuffer(const Checkpoint &checkpoint, bool bf16)
{
    QVector<TensorView> views;
    std::deque<QByteArray> owned;
    for (const QString &name : checkpoint.tensorNames()) {
        TensorView v{name, checkpoint.info(name).dtype, checkpoint.info(name).shape, checkpoint.data(name)};
        if (bf16 && v.dtype == Dtype::F32) {
            owned.push_back(convertFloat32(v.data, Dtype::BF16));
            v.data = owned.back();
            v.dtype = Dtype::BF16;
        }
        views.append(v);
    }
    return serializeSafetensors(views);
}

qint64 threadCpuNs()
{
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return qint64(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

// Runs `f` until this thread has used at least 0.5 s of CPU; returns MB per CPU-second for
// `bytes` per call.
template<typename F>
double throughput(qint64 bytes, F f)
{
    const qint64 start = threadCpuNs();
    int calls = 0;
    do {
        f();
        ++calls;
    } while (threadCpuNs() - start < 500'000'000);
    return double(bytes) * calls / (double(threadCpuNs() - start) / 1e9) / 1e6;
}

QByteArray plainCompress(const QByteArray &raw, int level)
{
    QByteArray out(qsizetype(ZSTD_compressBound(size_t(raw.size()))), Qt::Uninitialized);
    out.resize(qsizetype(ZSTD_compress(out.data(), size_t(out.size()), raw.constData(), size_t(raw.size()), level)));
    return out;
}

QByteArray plainDecompress(const QByteArray &stored, qint64 rawSize)
{
    QByteArray out(qsizetype(rawSize), Qt::Uninitialized);
    ZSTD_decompress(out.data(), size_t(out.size()), stored.constData(), size_t(stored.size()));
    return out;
}

void measure(const char *label, const QByteArray &raw, int level)
{
    const QByteArray plain = plainCompress(raw, level);
    const QByteArray grouped = encodeChunk(raw, ChunkCodec::ZstdByteGroup, level);
    if (decodeChunk(grouped, ChunkCodec::ZstdByteGroup, raw.size(), "bench") != raw || plainDecompress(plain, raw.size()) != raw)
        throw Error(QStringLiteral("round trip failed"));
    const double plainC = throughput(raw.size(), [&] { plainCompress(raw, level); });
    const double groupC = throughput(raw.size(), [&] { encodeChunk(raw, ChunkCodec::ZstdByteGroup, level); });
    const double plainD = throughput(raw.size(), [&] { plainDecompress(plain, raw.size()); });
    const double groupD = throughput(raw.size(), [&] { decodeChunk(grouped, ChunkCodec::ZstdByteGroup, raw.size(), "bench"); });
    std::printf("| %s | %d | %.3f | %.3f | %.2fx | %.0f | %.0f | %.0f | %.0f |\n", label, level,
                double(raw.size()) / plain.size(), double(raw.size()) / grouped.size(),
                double(plain.size()) / grouped.size(), plainC, groupC, plainD, groupD);
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s MODEL_DIR [LEVELS...]\n", argv[0]);
        return 2;
    }
    QList<int> levels;
    for (int i = 2; i < argc; ++i)
        levels << std::atoi(argv[i]);
    if (levels.isEmpty())
        levels = {1, 3, 9, 19};
    try {
        const auto checkpoint = Checkpoint::open(QString::fromLocal8Bit(argv[1]));
        std::printf("| weights | level | plain zstd ratio | byte-grouped ratio | grouped vs plain | plain compress MB/s | grouped compress MB/s | plain decompress MB/s | grouped decompress MB/s |\n");
        std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (bool bf16 : {false, true}) {
            const QByteArray raw = modelBuffer(*checkpoint, bf16);
            for (int level : levels)
                measure(bf16 ? "bf16" : "f32", raw, level);
        }
    } catch (const Error &e) {
        std::fprintf(stderr, "%s\n", qPrintable(e.message()));
        return 1;
    }
    return 0;
}
