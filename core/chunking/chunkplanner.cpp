#include "chunking/chunkplanner.h"

#include "base/error.h"
#include "format/checkpoint.h"
#include "format/unitnames.h"

#include <QMap>
#include <QRegularExpression>
#include <algorithm>

namespace surfing {
namespace {

// One naming rule: a checkpoint-name pattern whose last capture is the key inside the chunk and,
// for numbered units, whose first capture is the layer index.
struct Rule {
    const char *pattern;
    const char *kind;
    bool numbered;
    const char *aliasOf = nullptr; // tied copy of this tensor (stored once)
    // Captures (layer, expert, key): one unit per expert, layer_N_expert_E, right after layer_N.
    bool expert = false;
};

struct FamilyRules {
    QString stripPrefix;        // optional prefix of task-head checkpoints ("bert.", "transformer.")
    QVector<Rule> rules;
    QStringList order;          // unit kinds in execution order
};

FamilyRules rulesFor(ModelFamily family)
{
    switch (family) {
    case ModelFamily::Bert:
        return {QStringLiteral("bert."),
                {{"^embeddings\\.(.+)$", "embeddings", false},
                 {"^encoder\\.layer\\.(\\d+)\\.(.+)$", "layer", true},
                 {"^pooler\\.(.+)$", "pooler", false}},
                {"embeddings", "layer", "pooler"}};
    case ModelFamily::Gpt2:
        return {QStringLiteral("transformer."),
                {{"^wte\\.(.+)$", "wte", false},
                 {"^wpe\\.(.+)$", "wpe", false},
                 {"^h\\.(\\d+)\\.(.+)$", "block", true},
                 {"^ln_f\\.(.+)$", "ln_f", false},
                 {"^lm_head\\.(.+)$", "lm_head", false, "wte.weight"}},
                {"wte", "wpe", "block", "ln_f", "lm_head"}};
    case ModelFamily::Llama:
        return {QString(),
                {{"^model\\.embed_tokens\\.(.+)$", "embed_tokens", false},
                 {"^model\\.layers\\.(\\d+)\\.mlp\\.experts\\.(\\d+)\\.(.+)$", "expert", true, nullptr, true},
                 {"^model\\.layers\\.(\\d+)\\.(.+)$", "layer", true},
                 {"^model\\.norm\\.(.+)$", "norm", false},
                 {"^lm_head\\.(.+)$", "lm_head", false, "model.embed_tokens.weight"}},
                {"embed_tokens", "layer", "norm", "lm_head"}};
    case ModelFamily::T5:
        return {QString(),
                {{"^shared\\.(.+)$", "shared_embeddings", false},
                 {"^encoder\\.embed_tokens\\.(.+)$", "shared_embeddings", false, "shared.weight"},
                 {"^decoder\\.embed_tokens\\.(.+)$", "shared_embeddings", false, "shared.weight"},
                 {"^encoder\\.block\\.(\\d+)\\.(.+)$", "encoder_block", true},
                 {"^encoder\\.final_layer_norm\\.(.+)$", "encoder_final_layer_norm", false},
                 {"^decoder\\.block\\.(\\d+)\\.(.+)$", "decoder_block", true},
                 {"^decoder\\.final_layer_norm\\.(.+)$", "decoder_final_layer_norm", false},
                 {"^lm_head\\.(.+)$", "lm_head", false, "shared.weight"}},
                {"shared_embeddings", "encoder_block", "encoder_final_layer_norm", "decoder_block",
                 "decoder_final_layer_norm", "lm_head"}};
    }
    return {};
}

bool sameTensor(const Checkpoint &checkpoint, const QString &a, const QString &b)
{
    const TensorInfo &x = checkpoint.info(a);
    const TensorInfo &y = checkpoint.info(b);
    return x.dtype == y.dtype && x.shape == y.shape && checkpoint.data(a) == checkpoint.data(b);
}

int layerLimit(const ModelConfig &config, const QString &kind)
{
    return kind == QLatin1String("decoder_block") ? config.numDecoderLayers : config.numLayers;
}

QString chunkName(const QString &kind, int index)
{
    return index < 0 ? kind : QStringLiteral("%1_%2").arg(kind).arg(index);
}

// Where an expert tensor goes: unit layer_N_expert_E, with both indices checked against config.json.
void placeExpert(const ModelConfig &config, const QString &source, const QRegularExpressionMatch &match,
                 QString *kind, int *index)
{
    const int layer = match.captured(1).toInt();
    const int expert = match.captured(2).toInt();
    const int experts = config.json.value(QLatin1String("num_experts")).toInt(0);
    if (layer >= config.numLayers || match.captured(1).size() > 6)
        throw Error(QStringLiteral("tensor '%1' names layer %2 but config.json has %3 layers")
                        .arg(source, match.captured(1)).arg(config.numLayers));
    if (expert >= experts || match.captured(2).size() > 6)
        throw Error(QStringLiteral("tensor '%1' names expert %2 but config.json has num_experts %3")
                        .arg(source, match.captured(2)).arg(experts));
    *kind = unitnames::expertKind(layer);
    *index = expert;
}

// The experts of layer `layer`, by expert index, taken out of `chunks`.
QVector<PlannedChunk> takeExperts(QMap<QString, PlannedChunk> &chunks, int layer)
{
    QVector<PlannedChunk> experts;
    const QString kind = unitnames::expertKind(layer);
    for (auto it = chunks.begin(); it != chunks.end();) {
        if (it->kind == kind) {
            experts.append(*it);
            it = chunks.erase(it);
        } else {
            ++it;
        }
    }
    std::sort(experts.begin(), experts.end(), [](const PlannedChunk &a, const PlannedChunk &b) { return a.index < b.index; });
    return experts;
}

void sortAndCheckKeys(PlannedChunk &chunk)
{
    std::sort(chunk.tensors.begin(), chunk.tensors.end(),
              [](const PlannedTensor &a, const PlannedTensor &b) { return a.key < b.key; });
    for (int t = 1; t < chunk.tensors.size(); ++t) {
        if (chunk.tensors[t].key == chunk.tensors[t - 1].key)
            throw Error(QStringLiteral("tensors '%1' and '%2' map to the same key '%3' in %4")
                            .arg(chunk.tensors[t - 1].source, chunk.tensors[t].source,
                                 chunk.tensors[t].key, chunk.name));
    }
}

} // namespace

QPair<QString, int> splitChunkName(const QString &name)
{
    static const QRegularExpression numbered(QStringLiteral("^(.+)_(\\d+)$"));
    const auto match = numbered.match(name);
    if (match.hasMatch())
        return {match.captured(1), match.captured(2).toInt()};
    return {name, -1};
}

ChunkPlan planChunks(const ModelConfig &config, const Checkpoint &checkpoint)
{
    const FamilyRules family = rulesFor(config.family);
    QVector<QRegularExpression> patterns;
    for (const Rule &rule : family.rules)
        patterns.append(QRegularExpression(QLatin1String(rule.pattern)));

    const QStringList names = checkpoint.tensorNames();
    const bool prefixed = !family.stripPrefix.isEmpty()
                          && std::all_of(names.begin(), names.end(), [&](const QString &n) {
                                 return n.startsWith(family.stripPrefix) || n.startsWith(QLatin1String("lm_head."));
                             });

    ChunkPlan plan;
    QMap<QString, PlannedChunk> chunks;
    for (const QString &source : names) {
        const QString name = prefixed && source.startsWith(family.stripPrefix)
                                 ? source.mid(family.stripPrefix.size()) : source;
        int ruleIndex = 0;
        QRegularExpressionMatch match;
        for (; ruleIndex < patterns.size(); ++ruleIndex) {
            match = patterns[ruleIndex].match(name);
            if (match.hasMatch())
                break;
        }
        if (ruleIndex == patterns.size())
            throw Error(QStringLiteral("tensor '%1' belongs to no %2 unit; is this a %2 checkpoint?")
                            .arg(source, familyName(config.family)));
        const Rule &rule = family.rules[ruleIndex];
        QString kind = QLatin1String(rule.kind);
        if (rule.aliasOf) {
            const QString canonical = (prefixed ? family.stripPrefix : QString()) + QLatin1String(rule.aliasOf);
            if (checkpoint.contains(canonical) && sameTensor(checkpoint, source, canonical)) {
                plan.tiedAliases << source;
                continue;
            }
            if (kind != QLatin1String("lm_head") && checkpoint.contains(canonical))
                throw Error(QStringLiteral("tensor '%1' should be tied to '%2' but differs from it")
                                .arg(source, canonical));
        }
        int index = rule.numbered ? match.captured(1).toInt() : -1;
        if (rule.expert)
            placeExpert(config, source, match, &kind, &index);
        else if (rule.numbered && (index >= layerLimit(config, kind) || match.captured(1).size() > 6))
            throw Error(QStringLiteral("tensor '%1' names layer %2 but config.json has %3 layers")
                            .arg(source, match.captured(1)).arg(layerLimit(config, kind)));
        const QString unit = chunkName(kind, index);
        PlannedChunk &chunk = chunks[unit];
        chunk.name = unit;
        chunk.kind = kind;
        chunk.index = index;
        chunk.tensors.append({source, match.captured(match.lastCapturedIndex())});
    }

    for (const QString &kind : family.order) {
        const bool numbered = std::any_of(family.rules.begin(), family.rules.end(), [&](const Rule &r) {
            return r.numbered && !r.expert && kind == QLatin1String(r.kind);
        });
        const int count = numbered ? layerLimit(config, kind) : 1;
        for (int i = 0; i < count; ++i) {
            const QString unit = chunkName(kind, numbered ? i : -1);
            if (!chunks.contains(unit)) {
                if (numbered)
                    throw Error(QStringLiteral("the checkpoint has no tensors for %1, but config.json "
                                               "declares %2 layers").arg(unit).arg(count));
                continue;
            }
            PlannedChunk chunk = chunks.take(unit);
            sortAndCheckKeys(chunk);
            plan.chunks.append(chunk);
            if (numbered && kind == QLatin1String("layer")) {
                for (PlannedChunk &expert : takeExperts(chunks, i)) {
                    sortAndCheckKeys(expert);
                    plan.chunks.append(expert);
                }
            }
        }
    }
    return plan;
}

} // namespace surfing
