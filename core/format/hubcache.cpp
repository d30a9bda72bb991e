#include "format/hubcache.h"

#include "base/error.h"
#include "base/files.h"

#include <QDir>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QRegularExpression>

Q_LOGGING_CATEGORY(lcHubCache, "surfing.hubcache")

namespace surfing {
namespace {

const QLatin1String kRepoPrefix("models--");
constexpr qint64 kMaxRefBytes = 4096;

// huggingface_hub's validate_repo_id, in ASCII: word characters, '-' and '.', not at either end,
// no "--" or "..", at most 96 characters.
bool isValidRepoPart(const QString &part)
{
    static const QRegularExpression allowed(QStringLiteral("^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$"));
    return part.size() <= 96 && allowed.match(part).hasMatch() && !part.contains(QLatin1String("--"))
        && !part.contains(QLatin1String(".."));
}

// A branch, tag or commit: names a file under refs/ or a folder under snapshots/, so nothing
// that could step out of them.
bool isSafeRevision(const QString &revision)
{
    static const QRegularExpression allowed(QStringLiteral("^[A-Za-z0-9_.][A-Za-z0-9_./-]*$"));
    if (!allowed.match(revision).hasMatch() || revision.size() > 256)
        return false;
    const QStringList parts = revision.split(QLatin1Char('/'));
    for (const QString &part : parts) {
        if (part.isEmpty() || part == QLatin1String(".") || part == QLatin1String(".."))
            return false;
    }
    return true;
}

QStringList snapshotNames(const QString &repoDir)
{
    return QDir(repoDir + QStringLiteral("/snapshots")).entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name);
}

// The snapshot of REPODIR at REVISION, or empty with *PROBLEM saying what is missing there.
QString snapshotAt(const QString &repoDir, const QString &revision, bool revisionGiven, QString *problem)
{
    const QString refFile = repoDir + QStringLiteral("/refs/") + revision;
    if (QFileInfo(refFile).isFile()) {
        const QString commit = QString::fromUtf8(readRegularFile(refFile, kMaxRefBytes)).trimmed();
        if (!isSafeRevision(commit) || commit.contains(QLatin1Char('/'))) {
            *problem = QStringLiteral("%1 does not hold a commit").arg(refFile);
            return {};
        }
        const QString snapshot = repoDir + QStringLiteral("/snapshots/") + commit;
        if (QFileInfo(snapshot).isDir())
            return snapshot;
        *problem = QStringLiteral("%1 names commit %2, but %3 is missing").arg(refFile, commit, snapshot);
        return {};
    }
    const QStringList snapshots = snapshotNames(repoDir);
    if (revisionGiven && snapshots.contains(revision))
        return repoDir + QStringLiteral("/snapshots/") + revision;
    // Copied or pruned caches can lose refs/; one snapshot leaves no doubt which one is meant.
    if (!revisionGiven && snapshots.size() == 1) {
        qCInfo(lcHubCache) << refFile << "is missing; using the only snapshot" << snapshots.first();
        return repoDir + QStringLiteral("/snapshots/") + snapshots.first();
    }
    *problem = QStringLiteral("%1 is missing and there is no snapshot %2 (snapshots: %3)")
                   .arg(refFile, revision, snapshots.isEmpty() ? QStringLiteral("none") : snapshots.join(QStringLiteral(", ")));
    return {};
}

void addUnique(QStringList &dirs, const QString &dir)
{
    if (dir.isEmpty())
        return;
    const QString clean = QDir::cleanPath(dir);
    if (!dirs.contains(clean))
        dirs.append(clean);
}

QString environmentPath(const char *name, const QString &suffix = {})
{
    const QString value = qEnvironmentVariable(name);
    if (value.isEmpty())
        return {};
    QString path = value.startsWith(QLatin1String("~/")) ? QDir::homePath() + value.mid(1) : value;
    return suffix.isEmpty() ? path : path + QLatin1Char('/') + suffix;
}

} // namespace

QStringList HubCache::defaultCacheDirs()
{
    QStringList dirs;
    addUnique(dirs, environmentPath("HF_HUB_CACHE"));
    addUnique(dirs, environmentPath("HUGGINGFACE_HUB_CACHE"));
    addUnique(dirs, environmentPath("HF_HOME", QStringLiteral("hub")));
    addUnique(dirs, environmentPath("XDG_CACHE_HOME", QStringLiteral("huggingface/hub")));
    addUnique(dirs, QDir::homePath() + QStringLiteral("/.cache/huggingface/hub"));
    return dirs;
}

std::optional<HubName> HubCache::parseName(const QString &text)
{
    const qsizetype at = text.indexOf(QLatin1Char('@'));
    const QString repoId = at < 0 ? text : text.left(at);
    const QString revision = at < 0 ? QString() : text.mid(at + 1);
    if (at >= 0 && !isSafeRevision(revision))
        return std::nullopt;
    const QStringList parts = repoId.split(QLatin1Char('/'));
    if (parts.size() > 2)
        return std::nullopt;
    for (const QString &part : parts) {
        if (!isValidRepoPart(part))
            return std::nullopt;
    }
    return HubName{repoId, revision};
}

QString HubCache::resolve(const HubName &name, const QStringList &cacheDirs)
{
    const QString folder = kRepoPrefix + QString(name.repoId).replace(QLatin1Char('/'), QLatin1String("--"));
    const QString revision = name.revision.isEmpty() ? QStringLiteral("main") : name.revision;
    QStringList looked;
    for (const QString &cacheDir : cacheDirs) {
        const QString repoDir = cacheDir + QLatin1Char('/') + folder;
        if (!QFileInfo(repoDir).isDir()) {
            looked << QStringLiteral("  %1: not there").arg(repoDir);
            continue;
        }
        QString problem;
        const QString snapshot = snapshotAt(repoDir, revision, !name.revision.isEmpty(), &problem);
        if (!snapshot.isEmpty()) {
            qCInfo(lcHubCache) << name.repoId << "is" << snapshot;
            return snapshot;
        }
        looked << QStringLiteral("  ") + problem;
    }
    const QString shown = name.revision.isEmpty() ? name.repoId : name.repoId + QLatin1Char('@') + name.revision;
    throw Error(QStringLiteral("%1 is not a local folder and not in the Hugging Face cache (nothing is downloaded). "
                               "Looked in:\n%2\nDownload it first (e.g. huggingface-cli download %3), set "
                               "HF_HUB_CACHE or HF_HOME to the cache that holds it, or give the model folder.")
                    .arg(shown, looked.join(QLatin1Char('\n')), name.repoId));
}

QString HubCache::snapshotOfRepoFolder(const QString &dir)
{
    const QFileInfo info(dir);
    if (!info.isDir() || !info.fileName().startsWith(kRepoPrefix)
        || !QFileInfo(dir + QStringLiteral("/snapshots")).isDir())
        return {};
    QString problem;
    const QString snapshot = snapshotAt(QDir::cleanPath(info.absoluteFilePath()), QStringLiteral("main"), false, &problem);
    if (snapshot.isEmpty())
        throw Error(QStringLiteral("%1 is a Hugging Face cache folder without a usable snapshot: %2").arg(dir, problem));
    return snapshot;
}

QString resolveModelLocation(const QString &pathOrName, const QStringList &cacheDirs)
{
    if (pathEntryExists(pathOrName)) {
        const QString snapshot = HubCache::snapshotOfRepoFolder(pathOrName);
        return snapshot.isEmpty() ? pathOrName : snapshot;
    }
    const std::optional<HubName> name = HubCache::parseName(pathOrName);
    if (!name)
        return pathOrName; // not a hub name: the caller reports the missing path as before
    return HubCache::resolve(*name, cacheDirs);
}

QString modelNameOfDir(const QString &dir)
{
    const QFileInfo info(QDir::cleanPath(dir));
    const QString parent = info.dir().dirName();
    const QString repoFolder = QFileInfo(info.dir().path()).dir().dirName();
    if (parent == QLatin1String("snapshots") && repoFolder.startsWith(kRepoPrefix))
        return repoFolder.split(QLatin1String("--")).last();
    return info.fileName();
}

} // namespace surfing
