// T5 behind InferenceSession: encoder once, then generation (t5session.h).
#include "inference/modelrunner.h"

#include "inference/t5session.h"

namespace surfing {
namespace {

class T5Runner : public ModelRunner
{
public:
    explicit T5Runner(const RunnerSetup &setup)
        : m_model(T5Config::fromJson(setup.config.json, setup.modelFilesDir + QStringLiteral("/config.json")), setup.stream)
    {
    }

    bool generates() const override { return true; }

    void warmup(WeightStream &) override
    {
        const at::Tensor one = at::zeros({1, 1}, at::kLong);
        m_model.decode(one, m_model.encode(one, {}));
    }

    void run(RunContext &c, const QVector<qint64> &ids, const QString &) override
    {
        const T5SessionRun run = runT5Session(m_model, ids, c.options, c.acceptToken);
        c.kept = run.tensors;
    }

private:
    T5Model m_model;
};

} // namespace

std::unique_ptr<ModelRunner> makeT5Runner(const RunnerSetup &setup)
{
    return std::make_unique<T5Runner>(setup);
}

} // namespace surfing
