#include "modelgen/randommodel.h"

#include "base/error.h"
#include "format/safetensors.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonArray>
#include <QJsonObject>
#include <cstring>

namespace surfing {
namespace {

struct Spec {
    QString name;
    QVector<qint64> shape;
    float constant = 0; // norm weights are 1, everything else random when constant == 0
};

QVector<Spec> llamaTensors(const RandomModelSpec &s)
{
    const qint64 h = s.hidden, kv = qint64(s.hidden) / s.heads * s.kvHeads;
    QVector<Spec> t{{"model.embed_tokens.weight", {s.vocab, h}}, {"model.norm.weight", {h}, 1.0f}};
    for (int i = 0; i < s.layers; ++i) {
        const QString p = QStringLiteral("model.layers.%1.").arg(i);
        t += {{p + "input_layernorm.weight", {h}, 1.0f},
              {p + "post_attention_layernorm.weight", {h}, 1.0f},
              {p + "self_attn.q_proj.weight", {h, h}},
              {p + "self_attn.k_proj.weight", {kv, h}},
              {p + "self_attn.v_proj.weight", {kv, h}},
              {p + "self_attn.o_proj.weight", {h, h}}};
        if (s.experts > 0) {
            t += {p + "mlp.gate.weight", {s.experts, h}};
            for (int e = 0; e < s.experts; ++e) {
                const QString x = p + QStringLiteral("mlp.experts.%1.").arg(e);
                t += {{x + "gate_proj.weight", {s.moeIntermediate, h}},
                      {x + "up_proj.weight", {s.moeIntermediate, h}},
                      {x + "down_proj.weight", {h, s.moeIntermediate}}};
            }
            continue;
        }
        t += {{p + "mlp.gate_proj.weight", {s.intermediate, h}},
              {p + "mlp.up_proj.weight", {s.intermediate, h}},
              {p + "mlp.down_proj.weight", {h, s.intermediate}}};
    }
    if (!s.tiedEmbeddings)
        t += {"lm_head.weight", {s.vocab, h}};
    return t;
}

QVector<Spec> bertTensors(const RandomModelSpec &s)
{
    const qint64 h = s.hidden;
    QVector<Spec> t{{"embeddings.word_embeddings.weight", {s.vocab, h}},
                    {"embeddings.position_embeddings.weight", {s.maxPositions, h}},
                    {"embeddings.token_type_embeddings.weight", {2, h}},
                    {"embeddings.LayerNorm.weight", {h}, 1.0f},
                    {"embeddings.LayerNorm.bias", {h}},
                    {"pooler.dense.weight", {h, h}},
                    {"pooler.dense.bias", {h}}};
    for (int i = 0; i < s.layers; ++i) {
        const QString p = QStringLiteral("encoder.layer.%1.").arg(i);
        for (const char *m : {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"})
            t += {{p + m + ".weight", {h, h}}, {p + m + ".bias", {h}}};
        t += {{p + "attention.output.LayerNorm.weight", {h}, 1.0f}, {p + "attention.output.LayerNorm.bias", {h}},
              {p + "intermediate.dense.weight", {s.intermediate, h}}, {p + "intermediate.dense.bias", {s.intermediate}},
              {p + "output.dense.weight", {h, s.intermediate}}, {p + "output.dense.bias", {h}},
              {p + "output.LayerNorm.weight", {h}, 1.0f}, {p + "output.LayerNorm.bias", {h}}};
    }
    return t;
}

QVector<Spec> tensorsOf(const RandomModelSpec &s)
{
    if (s.family == ModelFamily::Llama)
        return llamaTensors(s);
    if (s.family == ModelFamily::Bert)
        return bertTensors(s);
    throw Error(QStringLiteral("random models can be llama or bert, not %1").arg(familyName(s.family)));
}

QJsonObject configOf(const RandomModelSpec &s)
{
    if (s.family == ModelFamily::Bert)
        return {{"model_type", "bert"}, {"architectures", QJsonArray{"BertModel"}}, {"hidden_size", s.hidden},
                {"num_hidden_layers", s.layers}, {"num_attention_heads", s.heads}, {"intermediate_size", s.intermediate},
                {"vocab_size", s.vocab}, {"max_position_embeddings", s.maxPositions}, {"type_vocab_size", 2},
                {"hidden_act", "gelu"}, {"layer_norm_eps", 1e-12}, {"pad_token_id", 0}, {"torch_dtype", "float32"}};
    QJsonObject llama{{"model_type", "llama"}, {"architectures", QJsonArray{"LlamaForCausalLM"}}, {"hidden_size", s.hidden},
                      {"num_hidden_layers", s.layers}, {"num_attention_heads", s.heads}, {"num_key_value_heads", s.kvHeads},
                      {"intermediate_size", s.intermediate}, {"vocab_size", s.vocab}, {"max_position_embeddings", s.maxPositions},
                      {"rms_norm_eps", 1e-5}, {"rope_theta", 10000.0}, {"hidden_act", "silu"}, {"bos_token_id", 1},
                      {"eos_token_id", 2}, {"tie_word_embeddings", s.tiedEmbeddings}, {"torch_dtype", "float32"}};
    if (s.experts > 0) {
        llama.insert(QStringLiteral("model_type"), QStringLiteral("qwen3_moe"));
        llama.insert(QStringLiteral("architectures"), QJsonArray{QStringLiteral("Qwen3MoeForCausalLM")});
        llama.insert(QStringLiteral("num_experts"), s.experts);
        llama.insert(QStringLiteral("num_experts_per_tok"), s.expertsPerToken);
        llama.insert(QStringLiteral("moe_intermediate_size"), s.moeIntermediate);
        llama.insert(QStringLiteral("norm_topk_prob"), true);
        llama.insert(QStringLiteral("decoder_sparse_step"), 1);
        llama.insert(QStringLiteral("mlp_only_layers"), QJsonArray());
    }
    return llama;
}

// splitmix64: fast, seedable, good enough for weights nobody will train.
struct Random {
    quint64 state;
    quint64 next()
    {
        quint64 z = (state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    float uniform(float scale) { return (float(next() >> 40) / float(1 << 24) * 2.0f - 1.0f) * scale; }
};

void writeTensor(QFile &file, const Spec &spec, qint64 elements, Random &random)
{
    constexpr qint64 kSlice = 1 << 20;
    QVector<float> buffer;
    for (qint64 done = 0; done < elements; done += kSlice) {
        const qint64 n = qMin(kSlice, elements - done);
        buffer.resize(n);
        for (qint64 i = 0; i < n; ++i)
            buffer[i] = spec.constant != 0 ? spec.constant : random.uniform(0.05f);
        const qint64 bytes = n * qint64(sizeof(float));
        if (file.write(reinterpret_cast<const char *>(buffer.constData()), bytes) != bytes)
            throw Error(QStringLiteral("%1: write failed: %2").arg(file.fileName(), file.errorString()));
    }
}

qint64 elementsOf(const Spec &spec)
{
    qint64 n = 1;
    for (qint64 d : spec.shape)
        n *= d;
    return n;
}

} // namespace

qint64 randomModelBytes(const RandomModelSpec &spec)
{
    qint64 total = 0;
    for (const Spec &t : tensorsOf(spec))
        total += elementsOf(t) * 4;
    return total;
}

void writeRandomModel(const RandomModelSpec &spec, const QString &dir)
{
    QVector<Spec> tensors = tensorsOf(spec);
    std::sort(tensors.begin(), tensors.end(), [](const Spec &a, const Spec &b) { return a.name < b.name; });
    if (!QDir().mkpath(dir))
        throw Error(QStringLiteral("%1: cannot create directory").arg(dir));
    QFile config(dir + QStringLiteral("/config.json"));
    if (!config.open(QIODevice::WriteOnly) || config.write(QJsonDocument(configOf(spec)).toJson()) < 0)
        throw Error(QStringLiteral("%1: cannot write").arg(config.fileName()));

    // The header only needs sizes, so views over a null pointer describe the layout.
    QVector<TensorView> layout;
    for (const Spec &t : tensors)
        layout.append({t.name, Dtype::F32, t.shape, QByteArrayView(static_cast<const char *>(nullptr), elementsOf(t) * 4)});
    QFile file(dir + QStringLiteral("/model.safetensors"));
    if (!file.open(QIODevice::WriteOnly) || file.write(safetensorsPrefix(layout, {{"format", "pt"}})) < 0)
        throw Error(QStringLiteral("%1: cannot write").arg(file.fileName()));
    Random random{spec.seed};
    for (const Spec &t : tensors)
        writeTensor(file, t, elementsOf(t), random);
}

} // namespace surfing
