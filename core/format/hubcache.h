// Hugging Face hub names ("Qwen/Qwen3-0.6B", "gpt2", "ORG/NAME@REVISION") found in the local hub
// cache that huggingface_hub and transformers fill: CACHE/models--ORG--NAME/snapshots/<commit>,
// the commit read from refs/<revision> (default main), the files there links into ../../blobs.
// Nothing is ever downloaded.
#pragma once

#include <QString>
#include <QStringList>
#include <optional>

namespace surfing {

struct HubName {
    QString repoId;    // "ORG/NAME" or "NAME"
    QString revision;  // a branch or tag in refs/, or a commit; empty: main
};

class HubCache
{
public:
    // The caches to look in, in order, without duplicates: $HF_HUB_CACHE, $HUGGINGFACE_HUB_CACHE,
    // $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub (those set).
    static QStringList defaultCacheDirs();

    // TEXT parsed as [ORG/]NAME[@REVISION] with the hub's rules for names; nullopt when it is not
    // one (an absolute path, "./x", "a/b/c", "..", a name with spaces, ...).
    static std::optional<HubName> parseName(const QString &text);

    // The snapshot folder of NAME in the first of CACHEDIRS that holds the repository. Throws
    // surfing::Error that names every place it looked and what was missing there.
    static QString resolve(const HubName &name, const QStringList &cacheDirs = defaultCacheDirs());

    // The snapshot of a repository folder of a cache (".../models--ORG--NAME") at refs/main;
    // empty when DIR is not such a folder. Throws surfing::Error when it is one but has no usable
    // snapshot.
    static QString snapshotOfRepoFolder(const QString &dir);
};

// What the commands and the GUI accept as a model: a path that exists wins (a cache repository
// folder models--ORG--NAME means its snapshot at refs/main); otherwise a hub name is resolved
// through the cache, throwing surfing::Error naming every place looked in; anything else is
// returned as it is, for the caller to report as a missing path.
QString resolveModelLocation(const QString &pathOrName, const QStringList &cacheDirs = HubCache::defaultCacheDirs());

// The model's name for a model folder: NAME for a cache snapshot (.../models--ORG--NAME/snapshots/C),
// else the folder's own name.
QString modelNameOfDir(const QString &dir);

} // namespace surfing
