// BERT behind InferenceSession: one encoder pass, summarised as text and JSON outputs (norms and
// first values of last_hidden_state and pooler_output) plus the mean-pooled sentence embedding.
#include "inference/modelrunner.h"

#include "client/chunksource.h"
#include "format/chunkmanifest.h"
#include "inference/bertmodel.h"
#include "tokenizer/tokenizer.h"

#include <QJsonArray>

namespace surfing {
namespace {

QJsonArray firstValues(const at::Tensor &t, int n)
{
    QJsonArray a;
    const at::Tensor flat = t.flatten();
    for (int64_t i = 0; i < std::min<int64_t>(n, flat.numel()); ++i)
        a.append(flat[i].item<double>());
    return a;
}

// Mean of last_hidden_state [1, T, H] over its tokens.
QVector<double> meanPooled(const at::Tensor &lastHidden)
{
    const at::Tensor mean = lastHidden[0].to(at::kDouble).mean(0).contiguous();
    return QVector<double>(mean.data_ptr<double>(), mean.data_ptr<double>() + mean.numel());
}

class BertRunner : public ModelRunner
{
public:
    explicit BertRunner(const RunnerSetup &setup) : m_model(setup.config)
    {
        m_model.setPooler(setup.manifest.find(QStringLiteral("pooler")) != nullptr);
    }

    bool generates() const override { return false; }

    void warmup(WeightStream &stream) override { m_model.forward(stream, at::zeros({1, 1}, at::kLong), {}, {}); }

    void run(RunContext &c, const QVector<qint64> &promptIds, const QString &prompt) override
    {
        Encoding enc;
        if (c.tokenizer && !prompt.isNull())
            enc = c.tokenizer->encode(prompt, true);
        const std::vector<int64_t> ids(promptIds.begin(), promptIds.end());
        const at::Tensor input = at::tensor(ids, at::kLong).view({1, -1});
        at::Tensor types;
        if (enc.tokenTypeIds.size() == enc.ids.size() && !enc.ids.isEmpty())
            types = at::tensor(std::vector<int64_t>(enc.tokenTypeIds.begin(), enc.tokenTypeIds.end()), at::kLong).view({1, -1});
        const BertOutput out = m_model.forward(c.stream, input, types, {});
        c.result.stats.steps = 1;
        c.result.stats.timeToFirstTokenNs = timelineClockNs() - c.startNs;
        summarise(c.result, out);
        c.result.embedding = meanPooled(out.lastHidden);
        if (c.options.keepTensors) {
            c.kept[QStringLiteral("last_hidden_state")] = out.lastHidden.contiguous();
            if (out.pooled.defined())
                c.kept[QStringLiteral("pooler_output")] = out.pooled.contiguous();
        }
    }

private:
    static void summarise(InferenceResult &result, const BertOutput &out)
    {
        const at::Tensor &h = out.lastHidden;
        QJsonObject outputs{{"hidden_shape", QJsonArray{double(h.size(0)), double(h.size(1)), double(h.size(2))}},
                            {"hidden_first", firstValues(h[0][0], 8)},
                            {"hidden_norm", h.norm().item<double>()}};
        QString text = QStringLiteral("last_hidden_state [%1, %2, %3], norm %4")
                           .arg(h.size(0)).arg(h.size(1)).arg(h.size(2)).arg(h.norm().item<double>(), 0, 'f', 4);
        if (out.pooled.defined()) {
            outputs.insert(QStringLiteral("pooled_first"), firstValues(out.pooled, 8));
            outputs.insert(QStringLiteral("pooled_norm"), out.pooled.norm().item<double>());
            QStringList head;
            for (const QJsonValue &v : firstValues(out.pooled, 8))
                head << QString::number(v.toDouble(), 'f', 4);
            text += QStringLiteral("; pooler_output norm %1, first values [%2]")
                        .arg(out.pooled.norm().item<double>(), 0, 'f', 4).arg(head.join(QStringLiteral(", ")));
        }
        result.outputs = outputs;
        result.text = text;
    }

    BertModel m_model;
};

} // namespace

std::unique_ptr<ModelRunner> makeBertRunner(const RunnerSetup &setup)
{
    return std::make_unique<BertRunner>(setup);
}

} // namespace surfing
