#include "inference/decodermodel.h"

#include "base/error.h"

#include <QJsonArray>
#include <QJsonValue>

namespace surfing {
namespace {

std::optional<int64_t> configId(const QJsonObject &json, const char *key)
{
    const QJsonValue v = json.value(QLatin1String(key));
    if (v.isDouble())
        return int64_t(v.toDouble());
    if (v.isArray() && !v.toArray().isEmpty() && v.toArray().first().isDouble())
        return int64_t(v.toArray().first().toDouble());
    return std::nullopt;
}

} // namespace

std::optional<int64_t> DecoderModel::eosId() const
{
    return configId(m_config.json, "eos_token_id");
}

std::optional<int64_t> DecoderModel::bosId() const
{
    return configId(m_config.json, "bos_token_id");
}

DecoderInput DecoderModel::inputFor(const at::Tensor &ids, const KVCache *cache)
{
    const int64_t past = cache ? cache->length() : 0;
    const int64_t b = ids.size(0), t = ids.size(1);
    DecoderInput input;
    input.ids = ids;
    input.positions = at::arange(past, past + t, at::kLong).unsqueeze(0).expand({b, t});
    input.keyMask = at::ones({b, past + t}, at::kBool);
    return input;
}

} // namespace surfing
