#include "inference/architectures.h"

#include "base/error.h"

#include <QRegularExpression>

namespace surfing {

const QVector<Architecture> &architectures()
{
    // llama-style variants (Mistral, Qwen2 with q/k/v biases, Qwen3 with q/k norms, Qwen3-MoE with
    // experts) share RMSNorm, RoPE, SwiGLU and GQA with identical tensor names: LlamaModel.
    static const QVector<Architecture> table{
        {ModelFamily::Bert, QStringLiteral("bert"), {QStringLiteral("bert")}, {QStringLiteral("num_hidden_layers")}, true, QStringLiteral("bert."),
         {{"^embeddings\\.(.+)$", "embeddings", false},
          {"^encoder\\.layer\\.(\\d+)\\.(.+)$", "layer", true},
          {"^pooler\\.(.+)$", "pooler", false}},
         {QStringLiteral("embeddings"), QStringLiteral("layer"), QStringLiteral("pooler")}},
        {ModelFamily::Gpt2, QStringLiteral("gpt2"), {QStringLiteral("gpt2")}, {QStringLiteral("n_layer"), QStringLiteral("num_hidden_layers")}, true,
         QStringLiteral("transformer."),
         {{"^wte\\.(.+)$", "wte", false},
          {"^wpe\\.(.+)$", "wpe", false},
          {"^h\\.(\\d+)\\.(.+)$", "block", true},
          {"^ln_f\\.(.+)$", "ln_f", false},
          {"^lm_head\\.(.+)$", "lm_head", false, "wte.weight"}},
         {QStringLiteral("wte"), QStringLiteral("wpe"), QStringLiteral("block"), QStringLiteral("ln_f"), QStringLiteral("lm_head")}},
        {ModelFamily::Llama, QStringLiteral("llama"),
         {QStringLiteral("llama"), QStringLiteral("mistral"), QStringLiteral("qwen2"), QStringLiteral("qwen3"), QStringLiteral("qwen3_moe")},
         {QStringLiteral("num_hidden_layers")}, false, QString(),
         {{"^model\\.embed_tokens\\.(.+)$", "embed_tokens", false},
          {"^model\\.layers\\.(\\d+)\\.mlp\\.experts\\.(\\d+)\\.(.+)$", "expert", true, nullptr, true},
          {"^model\\.layers\\.(\\d+)\\.(.+)$", "layer", true},
          {"^model\\.norm\\.(.+)$", "norm", false},
          {"^lm_head\\.(.+)$", "lm_head", false, "model.embed_tokens.weight"}},
         {QStringLiteral("embed_tokens"), QStringLiteral("layer"), QStringLiteral("norm"), QStringLiteral("lm_head")}},
        {ModelFamily::T5, QStringLiteral("t5"), {QStringLiteral("t5")}, {QStringLiteral("num_layers")}, true, QString(),
         {{"^shared\\.(.+)$", "shared_embeddings", false},
          {"^encoder\\.embed_tokens\\.(.+)$", "shared_embeddings", false, "shared.weight"},
          {"^decoder\\.embed_tokens\\.(.+)$", "shared_embeddings", false, "shared.weight"},
          {"^encoder\\.block\\.(\\d+)\\.(.+)$", "encoder_block", true},
          {"^encoder\\.final_layer_norm\\.(.+)$", "encoder_final_layer_norm", false},
          {"^decoder\\.block\\.(\\d+)\\.(.+)$", "decoder_block", true},
          {"^decoder\\.final_layer_norm\\.(.+)$", "decoder_final_layer_norm", false},
          {"^lm_head\\.(.+)$", "lm_head", false, "shared.weight"}},
         {QStringLiteral("shared_embeddings"), QStringLiteral("encoder_block"), QStringLiteral("encoder_final_layer_norm"),
          QStringLiteral("decoder_block"), QStringLiteral("decoder_final_layer_norm"), QStringLiteral("lm_head")}},
    };
    return table;
}

const Architecture &architectureOf(ModelFamily family)
{
    for (const Architecture &a : architectures()) {
        if (a.family == family)
            return a;
    }
    throw Error(QStringLiteral("no architecture table entry for family %1").arg(int(family)));
}

namespace unitnames {

QString layer(int layer)
{
    return QStringLiteral("layer_%1").arg(layer);
}

QString expertKind(int layer)
{
    return QStringLiteral("layer_%1_expert").arg(layer);
}

QString expertPrefix(int layer)
{
    return expertKind(layer) + QLatin1Char('_');
}

QString expert(int layer, int expert)
{
    return expertPrefix(layer) + QString::number(expert);
}

bool isExpert(const QString &unit)
{
    static const QRegularExpression pattern(QStringLiteral("^layer_\\d+_expert_\\d+$"));
    return pattern.match(unit).hasMatch();
}

} // namespace unitnames

} // namespace surfing
