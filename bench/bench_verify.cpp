// Verification throughput on one core: SHA-256 (OpenSSL EVP, SHA-NI where the CPU has it), the
// keyed GMAC tag ReceiptVerifier checks re-fetched chunks with, and the whole first and later
// receipt as verifyStoredChunk() runs them; and the tag by each engine (OpenSSL's AES-GCM, the
// VPCLMULQDQ GHASH of base/ghash.h), fed in 256 KiB pieces as the network thread feeds it.
// Buffers of a 1 GB model's layer (45 MB), warm; --mb 1 stays in the CPU's cache.
// Usage: bench_verify [--mb N] [--reps N]
#include "base/sha256.h"
#include "client/receiptverifier.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QRandomGenerator>
#include <algorithm>
#include <cstdio>
#include <vector>

using namespace surfing;

namespace {

template<typename F>
double medianGBps(qint64 bytes, int reps, F &&f)
{
    std::vector<double> rates;
    for (int i = 0; i < reps; ++i) {
        QElapsedTimer t;
        t.start();
        f();
        rates.push_back(bytes / (t.nsecsElapsed() / 1e9) / 1e9);
    }
    std::sort(rates.begin(), rates.end());
    return rates[rates.size() / 2];
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser p;
    p.addOptions({{QStringLiteral("mb"), QStringLiteral("Buffer size in MB (default 45)."), QStringLiteral("N"), QStringLiteral("45")},
                  {QStringLiteral("reps"), QStringLiteral("Repetitions, the median is printed (default 9)."), QStringLiteral("N"), QStringLiteral("9")}});
    p.process(app);
    const qint64 bytes = p.value(QStringLiteral("mb")).toLongLong() * 1000 * 1000;
    const int reps = qMax(1, p.value(QStringLiteral("reps")).toInt());
    QByteArray data(bytes, Qt::Uninitialized);
    QRandomGenerator rng(1);
    rng.fillRange(reinterpret_cast<quint32 *>(data.data()), data.size() / 4);
    const QByteArray sha = Sha256::hashHex(data);

    ReceiptVerifier sha256Always(ReceiptVerifier::Policy::Sha256Always);
    ReceiptVerifier keyed;
    keyed.verify(data, sha);
    const double shaRate = medianGBps(bytes, reps, [&] { (void)Sha256::hashHex(data); });
    const double firstRate = medianGBps(bytes, reps, [&] { keyed.forget(); (void)keyed.verify(data, sha); });
    keyed.verify(data, sha);
    const double laterRate = medianGBps(bytes, reps, [&] {
        if (!keyed.matchesEarlierReceipt(data, sha))
            std::abort();
    });
    const auto engineRate = [&](ReceiptVerifier::Tagger::Engine engine) {
        const ReceiptVerifier::Key key = ReceiptVerifier::randomKey();
        return medianGBps(bytes, reps, [&] {
            ReceiptVerifier::Tagger tagger(key, engine);
            for (qsizetype at = 0; at < data.size(); at += 262144)
                tagger.add(QByteArrayView(data).sliced(at, qMin<qsizetype>(262144, data.size() - at)));
            (void)tagger.finish();
        });
    };
    const double openSslRate = engineRate(ReceiptVerifier::Tagger::Engine::OpenSsl);
    const bool ghash = Ghash::isAvailable();
    const double ghashRate = ghash ? engineRate(ReceiptVerifier::Tagger::Engine::Ghash) : 0;
    std::printf("| check | GB/s, one core (median of %d, %.0f MB) |\n|---|---|\n", reps, bytes / 1e6);
    std::printf("| SHA-256 (OpenSSL EVP) | %.2f |\n", shaRate);
    std::printf("| first receipt: SHA-256 + remember the GMAC tag | %.2f |\n", firstRate);
    std::printf("| later receipt: GMAC tag (AES-128-GCM, bytes as AAD) | %.2f |\n", laterRate);
    std::printf("| tag, OpenSSL engine (AES-128-GCM, bytes as AAD) | %.2f |\n", openSslRate);
    if (ghash)
        std::printf("| tag, GHASH engine (VPCLMULQDQ, 32 blocks per reduction, Karatsuba) | %.2f |\n", ghashRate);
    else
        std::printf("| tag, GHASH engine | this CPU has no VPCLMULQDQ with AVX-512 |\n");
    return 0;
}
