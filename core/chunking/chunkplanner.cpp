#include "chunking/chunkplanner.h"

#include "base/error.h"
#include "format/checkpoint.h"
#include "inference/architectures.h"

#include <QMap>
#include <QRegularExpression>
#include <algorithm>

namespace surfing {
namespace {

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

// Where a tensor of a decoder layer comes in the order a single-token step reads it. A re-fetched
// chunk is computed on piece by piece as it arrives (inference/unitweights.h), so its bytes are
// stored in that order: alphabetically, the MLP came first and the attention it waits for last.
// Keys no rule names come after, alphabetically (any unit of another family keeps that order).
int computeRank(const QString &key)
{
    static const char *const kOrder[] = {
        "input_layernorm.", "self_attn.q_proj.", "self_attn.k_proj.", "self_attn.v_proj.",
        "self_attn.q_norm.", "self_attn.k_norm.", "self_attn.o_proj.", "post_attention_layernorm.",
        "pre_feedforward_layernorm.", "mlp.gate.", "mlp.gate_proj.", "mlp.up_proj.", "mlp.down_proj.",
        "post_feedforward_layernorm.",
    };
    for (int rank = 0; rank < int(std::size(kOrder)); ++rank) {
        if (key.startsWith(QLatin1String(kOrder[rank])))
            return rank;
    }
    return int(std::size(kOrder));
}

void sortAndCheckKeys(PlannedChunk &chunk)
{
    std::sort(chunk.tensors.begin(), chunk.tensors.end(), [](const PlannedTensor &a, const PlannedTensor &b) {
        const int ra = computeRank(a.key), rb = computeRank(b.key);
        return ra != rb ? ra < rb : a.key < b.key;
    });
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
    const Architecture &family = architectureOf(config.family);
    QVector<QRegularExpression> patterns;
    for (const UnitRule &rule : family.rules)
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
        const UnitRule &rule = family.rules[ruleIndex];
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
        const bool numbered = std::any_of(family.rules.begin(), family.rules.end(), [&](const UnitRule &r) {
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
