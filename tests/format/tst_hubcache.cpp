// Hub names resolved through a local Hugging Face cache built by the test (refs, snapshots whose
// files are links into blobs/), and `surfing-cli chunk ORG/NAME` / `inspect ORG/NAME` on one.
#include "testsupport.h"

#include "base/error.h"
#include "format/hubcache.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

using namespace surfing;
using namespace surfing::test;

namespace {

const QString kCommitMain = QStringLiteral("0123456789abcdef0123456789abcdef01234567");
const QString kCommitDev = QStringLiteral("fedcba9876543210fedcba9876543210fedcba98");

void writeFile(const QString &path, const QByteArray &bytes)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile file(path);
    QVERIFY2(file.open(QIODevice::WriteOnly), qPrintable(path));
    file.write(bytes);
}

void addSnapshot(const QString &cache, const QString &repo, const QString &commit,
                 const QHash<QString, QByteArray> &files)
{
    const QString repoId = repo.mid(QStringLiteral("models--").size()).replace(QLatin1String("--"), QLatin1String("/"));
    addHubSnapshot(cache, repoId, commit, files, false);
}

void setRef(const QString &cache, const QString &repo, const QString &ref, const QString &commit)
{
    writeFile(cache + QLatin1Char('/') + repo + QStringLiteral("/refs/") + ref, commit.toLatin1());
}

// Runs F with the environment variables set as given (empty: unset), then restores them.
template<typename F>
void withEnvironment(const QHash<QByteArray, QByteArray> &values, F f)
{
    QHash<QByteArray, std::optional<QByteArray>> saved;
    for (auto it = values.begin(); it != values.end(); ++it) {
        saved.insert(it.key(), qEnvironmentVariableIsSet(it.key()) ? std::optional(qgetenv(it.key())) : std::nullopt);
        if (it.value().isEmpty())
            qunsetenv(it.key());
        else
            qputenv(it.key(), it.value());
    }
    f();
    for (auto it = saved.begin(); it != saved.end(); ++it) {
        if (it.value())
            qputenv(it.key(), *it.value());
        else
            qunsetenv(it.key());
    }
}

} // namespace

class TestHubCache : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void parseNames_data();
    void parseNames();
    void resolvesRefsMainThroughBlobLinks();
    void resolvesRevisions();
    void missingRefs();
    void refToMissingSnapshot();
    void laterCacheAndErrorNamesEveryPlace();
    void defaultCacheDirsFollowEnvironment();
    void localPathWins();
    void repoFolderMeansItsSnapshot();
    void modelNames();
    void chunkByHubName_data();
    void chunkByHubName();
    void chunkRefusesOutputInsideTheCachedModel();
    void unknownHubNameFails();

private:
    std::unique_ptr<QTemporaryDir> m_tmp;
    QString m_cache;
    QString m_snapshotMain;
};

void TestHubCache::init()
{
    m_tmp = std::make_unique<QTemporaryDir>();
    m_cache = m_tmp->filePath(QStringLiteral("hub"));
    addSnapshot(m_cache, QStringLiteral("models--org--tiny"), kCommitMain,
                {{QStringLiteral("config.json"), "{\"main\": true}"}, {QStringLiteral("weights.bin"), "abc"}});
    addSnapshot(m_cache, QStringLiteral("models--org--tiny"), kCommitDev, {{QStringLiteral("config.json"), "{\"dev\": true}"}});
    setRef(m_cache, QStringLiteral("models--org--tiny"), QStringLiteral("main"), kCommitMain + QLatin1Char('\n'));
    setRef(m_cache, QStringLiteral("models--org--tiny"), QStringLiteral("dev"), kCommitDev);
    m_snapshotMain = m_cache + QStringLiteral("/models--org--tiny/snapshots/") + kCommitMain;
}

void TestHubCache::parseNames_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("repoId");  // empty: not a hub name
    QTest::addColumn<QString>("revision");
    QTest::newRow("org/name") << "Qwen/Qwen3-0.6B" << "Qwen/Qwen3-0.6B" << "";
    QTest::newRow("legacy name") << "gpt2" << "gpt2" << "";
    QTest::newRow("revision") << "meta-llama/Llama-3.2-1B@v1.0" << "meta-llama/Llama-3.2-1B" << "v1.0";
    QTest::newRow("commit") << "org/tiny@" + kCommitDev << "org/tiny" << kCommitDev;
    QTest::newRow("pr ref") << "org/tiny@refs/pr/1" << "org/tiny" << "refs/pr/1";
    QTest::newRow("absolute path") << "/models/x" << "" << "";
    QTest::newRow("relative dot") << "./x" << "" << "";
    QTest::newRow("parent") << "../x" << "" << "";
    QTest::newRow("three parts") << "a/b/c" << "" << "";
    QTest::newRow("double dash") << "org/a--b" << "" << "";
    QTest::newRow("double dot") << "org/a..b" << "" << "";
    QTest::newRow("space") << "org/my model" << "" << "";
    QTest::newRow("empty") << "" << "" << "";
    QTest::newRow("trailing slash") << "org/" << "" << "";
    QTest::newRow("revision escapes") << "org/tiny@../../etc" << "" << "";
    QTest::newRow("empty revision") << "org/tiny@" << "" << "";
    QTest::newRow("too long") << "org/" + QString(97, QLatin1Char('a')) << "" << "";
}

void TestHubCache::parseNames()
{
    QFETCH(QString, text);
    QFETCH(QString, repoId);
    QFETCH(QString, revision);
    const std::optional<HubName> name = HubCache::parseName(text);
    QCOMPARE(name.has_value(), !repoId.isEmpty());
    if (name) {
        QCOMPARE(name->repoId, repoId);
        QCOMPARE(name->revision, revision);
    }
}

void TestHubCache::resolvesRefsMainThroughBlobLinks()
{
    const QString snapshot = HubCache::resolve({QStringLiteral("org/tiny"), {}}, {m_cache});
    QCOMPARE(snapshot, m_snapshotMain);
    QVERIFY(QFileInfo(snapshot + QStringLiteral("/config.json")).isSymLink());
    QCOMPARE(readFile(snapshot + QStringLiteral("/config.json")), QByteArray("{\"main\": true}"));
}

void TestHubCache::resolvesRevisions()
{
    const QString devSnapshot = m_cache + QStringLiteral("/models--org--tiny/snapshots/") + kCommitDev;
    QCOMPARE(HubCache::resolve({QStringLiteral("org/tiny"), QStringLiteral("dev")}, {m_cache}), devSnapshot);
    QCOMPARE(HubCache::resolve({QStringLiteral("org/tiny"), kCommitDev}, {m_cache}), devSnapshot);
    QCOMPARE(resolveModelLocation(QStringLiteral("org/tiny@dev"), {m_cache}), devSnapshot);
    const QString error = errorOf([&] { HubCache::resolve({QStringLiteral("org/tiny"), QStringLiteral("v9")}, {m_cache}); });
    QVERIFY2(error.contains(QStringLiteral("refs/v9 is missing")), qPrintable(error));
    QVERIFY2(error.contains(kCommitMain) && error.contains(kCommitDev), qPrintable(error));
}

void TestHubCache::missingRefs()
{
    // Two snapshots and no refs/main: which one is meant is unknown.
    QVERIFY(QFile::remove(m_cache + QStringLiteral("/models--org--tiny/refs/main")));
    const QString error = errorOf([&] { HubCache::resolve({QStringLiteral("org/tiny"), {}}, {m_cache}); });
    QVERIFY2(error.contains(QStringLiteral("models--org--tiny/refs/main is missing")), qPrintable(error));
    QVERIFY2(error.contains(QStringLiteral("snapshots: ") + kCommitMain), qPrintable(error));
    // One snapshot: that one.
    addSnapshot(m_cache, QStringLiteral("models--org--single"), kCommitDev, {{QStringLiteral("config.json"), "{}"}});
    QCOMPARE(HubCache::resolve({QStringLiteral("org/single"), {}}, {m_cache}),
             m_cache + QStringLiteral("/models--org--single/snapshots/") + kCommitDev);
}

void TestHubCache::refToMissingSnapshot()
{
    setRef(m_cache, QStringLiteral("models--org--tiny"), QStringLiteral("main"), QStringLiteral("1111111111111111111111111111111111111111"));
    const QString error = errorOf([&] { HubCache::resolve({QStringLiteral("org/tiny"), {}}, {m_cache}); });
    QVERIFY2(error.contains(QStringLiteral("names commit 1111111111111111111111111111111111111111")), qPrintable(error));
    setRef(m_cache, QStringLiteral("models--org--tiny"), QStringLiteral("main"), QStringLiteral("../../../etc"));
    const QString escaping = errorOf([&] { HubCache::resolve({QStringLiteral("org/tiny"), {}}, {m_cache}); });
    QVERIFY2(escaping.contains(QStringLiteral("does not hold a commit")), qPrintable(escaping));
}

void TestHubCache::laterCacheAndErrorNamesEveryPlace()
{
    const QString empty = m_tmp->filePath(QStringLiteral("empty-cache"));
    QVERIFY(QDir().mkpath(empty));
    QCOMPARE(HubCache::resolve({QStringLiteral("org/tiny"), {}}, {empty, m_cache}), m_snapshotMain);
    const QString missing = m_tmp->filePath(QStringLiteral("no-such-cache"));
    const QString error = errorOf([&] { HubCache::resolve({QStringLiteral("org/absent"), {}}, {empty, missing, m_cache}); });
    QVERIFY2(error.startsWith(QStringLiteral("org/absent is not a local folder and not in the Hugging Face cache")), qPrintable(error));
    for (const QString &dir : {empty, missing, m_cache})
        QVERIFY2(error.contains(dir + QStringLiteral("/models--org--absent: not there")), qPrintable(error));
    QVERIFY2(error.contains(QStringLiteral("nothing is downloaded")), qPrintable(error));
}

void TestHubCache::defaultCacheDirsFollowEnvironment()
{
    withEnvironment({{"HF_HUB_CACHE", "/c/hub-cache"}, {"HUGGINGFACE_HUB_CACHE", ""}, {"HF_HOME", "/c/hf-home"},
                     {"XDG_CACHE_HOME", "/c/xdg"}, {"HOME", "/c/home"}}, [] {
        QCOMPARE(HubCache::defaultCacheDirs(),
                 QStringList({"/c/hub-cache", "/c/hf-home/hub", "/c/xdg/huggingface/hub", "/c/home/.cache/huggingface/hub"}));
    });
    withEnvironment({{"HF_HUB_CACHE", ""}, {"HUGGINGFACE_HUB_CACHE", ""}, {"HF_HOME", ""},
                     {"XDG_CACHE_HOME", "/c/home/.cache"}, {"HOME", "/c/home"}}, [] {
        QCOMPARE(HubCache::defaultCacheDirs(), QStringList({"/c/home/.cache/huggingface/hub"}));
    });
}

void TestHubCache::localPathWins()
{
    // A folder "org/tiny" next to where the command runs is that folder, not the cached model.
    const QString local = m_tmp->filePath(QStringLiteral("work/org/tiny"));
    QVERIFY(QDir().mkpath(local));
    const QString previous = QDir::currentPath();
    QVERIFY(QDir::setCurrent(m_tmp->filePath(QStringLiteral("work"))));
    const QString resolved = resolveModelLocation(QStringLiteral("org/tiny"), {m_cache});
    const QString other = resolveModelLocation(QStringLiteral("org/tiny@dev"), {m_cache});
    QDir::setCurrent(previous);
    QCOMPARE(resolved, QStringLiteral("org/tiny"));
    QVERIFY(other.endsWith(kCommitDev));
    // Not a hub name and not there: returned as it is, for the caller's own error.
    QCOMPARE(resolveModelLocation(QStringLiteral("/no/such/model"), {m_cache}), QStringLiteral("/no/such/model"));
}

void TestHubCache::repoFolderMeansItsSnapshot()
{
    QCOMPARE(resolveModelLocation(m_cache + QStringLiteral("/models--org--tiny"), {}), m_snapshotMain);
    QCOMPARE(resolveModelLocation(m_snapshotMain, {}), m_snapshotMain);
    QVERIFY(HubCache::snapshotOfRepoFolder(m_tmp->path()).isEmpty());
    QVERIFY(QDir().mkpath(m_cache + QStringLiteral("/models--org--broken/snapshots")));
    const QString error = errorOf([&] { resolveModelLocation(m_cache + QStringLiteral("/models--org--broken"), {}); });
    QVERIFY2(error.contains(QStringLiteral("without a usable snapshot")), qPrintable(error));
}

void TestHubCache::modelNames()
{
    QCOMPARE(modelNameOfDir(m_snapshotMain), QStringLiteral("tiny"));
    QCOMPARE(modelNameOfDir(m_snapshotMain + QLatin1Char('/')), QStringLiteral("tiny"));
    QCOMPARE(modelNameOfDir(QStringLiteral("/models/llama-random")), QStringLiteral("llama-random"));
}

void TestHubCache::chunkByHubName_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("repoId");
    QTest::newRow("single file") << "stories260K" << "karpathy/stories260K";
    QTest::newRow("sharded") << "bert-random-sharded" << "org/bert-random-sharded";
    QTest::newRow("bf16 qwen3") << "qwen3-random" << "Qwen/qwen3-random";
}

void TestHubCache::chunkByHubName()
{
    QFETCH(QString, model);
    QFETCH(QString, repoId);
    if (sharedModel(model).isEmpty())
        QSKIP("shared models not found (SURFING_SHARED_MODELS)");
    addHubSnapshot(m_cache, repoId, kCommitMain, sharedModelFiles(model));
    const QString out = m_tmp->filePath(QStringLiteral("out"));
    CliResult chunked;
    CliResult inspected;
    withEnvironment({{"HF_HUB_CACHE", m_cache.toUtf8()}}, [&] {
        chunked = runCli({QStringLiteral("chunk"), repoId, QStringLiteral("-o"), out});
        inspected = runCli({QStringLiteral("inspect"), repoId, QStringLiteral("--json")});
    });
    QVERIFY2(chunked.exitCode == 0, chunked.err.constData());
    QCOMPARE(runCli({QStringLiteral("verify"), out}).exitCode, 0);
    const QJsonObject manifest = readJsonObject(out + QStringLiteral("/chunk_info.json"));
    QCOMPARE(manifest.value(QStringLiteral("model_name")).toString(), model);
    // The companion files are copies of the blobs, not links.
    QVERIFY(!QFileInfo(out + QStringLiteral("/config.json")).isSymLink());
    QCOMPARE(readFile(out + QStringLiteral("/config.json")), readFile(sharedModel(model) + QStringLiteral("/config.json")));
    // The same chunks as from the plain folder.
    const QString plainOut = m_tmp->filePath(QStringLiteral("plain-out"));
    QCOMPARE(runCli({QStringLiteral("chunk"), sharedModel(model), QStringLiteral("-o"), plainOut}).exitCode, 0);
    for (const QString &name : QDir(plainOut).entryList({QStringLiteral("*.safetensors")}, QDir::Files))
        QCOMPARE(readFile(out + QLatin1Char('/') + name), readFile(plainOut + QLatin1Char('/') + name));
    QVERIFY2(inspected.exitCode == 0, inspected.err.constData());
    const QJsonObject overview = QJsonDocument::fromJson(inspected.out).object();
    QCOMPARE(overview.value(QStringLiteral("model_name")).toString(), model);
    QCOMPARE(overview.value(QStringLiteral("kind")).toString(), QStringLiteral("model directory"));
}

void TestHubCache::chunkRefusesOutputInsideTheCachedModel()
{
    if (sharedModel(QStringLiteral("stories260K")).isEmpty())
        QSKIP("shared models not found (SURFING_SHARED_MODELS)");
    addHubSnapshot(m_cache, QStringLiteral("karpathy/stories260K"), kCommitMain, sharedModelFiles(QStringLiteral("stories260K")));
    const QString repoDir = m_cache + QStringLiteral("/models--karpathy--stories260K");
    const QStringList blobsBefore = QDir(repoDir + QStringLiteral("/blobs")).entryList(QDir::Files);
    // --force with the snapshot, the blobs folder, or a link to the blobs as OUT: all refused.
    QVERIFY(QFile::link(repoDir + QStringLiteral("/blobs"), m_tmp->filePath(QStringLiteral("blobs-link"))));
    for (const QString &out : {repoDir + QStringLiteral("/snapshots/") + kCommitMain, repoDir + QStringLiteral("/blobs"),
                               m_tmp->filePath(QStringLiteral("blobs-link"))}) {
        CliResult r;
        withEnvironment({{"HF_HUB_CACHE", m_cache.toUtf8()}}, [&] {
            r = runCli({QStringLiteral("chunk"), QStringLiteral("karpathy/stories260K"), QStringLiteral("-o"), out, QStringLiteral("--force")});
        });
        QVERIFY2(r.exitCode != 0, qPrintable(out));
        QVERIFY2(r.err.contains("holds the model being chunked"), r.err.constData());
    }
    QCOMPARE(QDir(repoDir + QStringLiteral("/blobs")).entryList(QDir::Files), blobsBefore);
    QCOMPARE(readFile(repoDir + QStringLiteral("/snapshots/") + kCommitMain + QStringLiteral("/config.json")),
             readFile(sharedModel(QStringLiteral("stories260K")) + QStringLiteral("/config.json")));
}

void TestHubCache::unknownHubNameFails()
{
    const QString out = m_tmp->filePath(QStringLiteral("out"));
    CliResult r;
    withEnvironment({{"HF_HUB_CACHE", m_cache.toUtf8()}, {"HF_HOME", m_tmp->filePath(QStringLiteral("home-hf")).toUtf8()}}, [&] {
        r = runCli({QStringLiteral("chunk"), QStringLiteral("org/absent"), QStringLiteral("-o"), out});
    });
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("org/absent is not a local folder and not in the Hugging Face cache"), r.err.constData());
    QVERIFY2(r.err.contains((m_cache + QStringLiteral("/models--org--absent: not there")).toUtf8()), r.err.constData());
    QVERIFY2(r.err.contains((m_tmp->filePath(QStringLiteral("home-hf")) + QStringLiteral("/hub/models--org--absent")).toUtf8()), r.err.constData());
    QVERIFY(!QFileInfo::exists(out));
}

QTEST_GUILESS_MAIN(TestHubCache)
#include "tst_hubcache.moc"
