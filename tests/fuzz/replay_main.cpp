// Runs a libFuzzer target without libFuzzer, as a regular test: every file of its seed corpus,
// then a fixed number of deterministic mutations of them (bit flips, truncations, insertions,
// overwritten length fields). Any crash or escaping exception fails the test.
// Usage: <target>_replay CORPUS_DIR [MUTATIONS]
#include <QDir>
#include <QFile>
#include <QRandomGenerator>
#include <cstdio>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {

int run(const QByteArray &input)
{
    return LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(input.constData()), size_t(input.size()));
}

QByteArray mutate(QByteArray input, QRandomGenerator &random)
{
    const int edits = 1 + int(random.bounded(4));
    for (int e = 0; e < edits; ++e) {
        const int pos = input.isEmpty() ? 0 : int(random.bounded(input.size()));
        switch (random.bounded(5)) {
        case 0: if (!input.isEmpty()) input[pos] = char(input[pos] ^ (1 << random.bounded(8))); break;
        case 1: input.truncate(pos); break;
        case 2: input.insert(pos, char(random.bounded(256))); break;
        case 3: if (input.size() >= 8) for (int i = 0; i < 8; ++i) input[i] = char(random.bounded(256)); break;
        case 4: input.insert(pos, input.mid(int(random.bounded(qMax<qsizetype>(1, input.size()))), 16)); break;
        }
    }
    return input;
}

} // namespace

int main(int argc, char *argv[])
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR [MUTATIONS]\n", argv[0]);
        return 2;
    }
    const QDir corpus(QString::fromLocal8Bit(argv[1]));
    const int mutations = argc > 2 ? std::atoi(argv[2]) : 20000;
    QList<QByteArray> seeds{QByteArray()};
    for (const QString &name : corpus.entryList(QDir::Files)) {
        QFile f(corpus.filePath(name));
        if (f.open(QIODevice::ReadOnly))
            seeds << f.readAll();
    }
    if (seeds.size() < 2) {
        std::fprintf(stderr, "no seeds in %s\n", argv[1]);
        return 1;
    }
    for (const QByteArray &seed : seeds)
        run(seed);
    QRandomGenerator random(20261122);
    for (int i = 0; i < mutations; ++i)
        run(mutate(seeds[int(random.bounded(seeds.size()))], random));
    std::printf("%lld seeds and %d mutations ran without a crash\n", (long long)seeds.size(), mutations);
    return 0;
}
