#include "tokenizerconfig.h"

#include "jsonfile.h"

#include <QDir>
#include <QJsonArray>

namespace surfing {

namespace {

// A special token is either a plain string or an AddedToken object {"content": ...}.
QString tokenContent(const QJsonValue &value)
{
    if (value.isObject())
        return value.toObject().value(QStringLiteral("content")).toString();
    return value.toString();
}

std::optional<bool> optionalBool(const QJsonObject &json, const QString &key)
{
    const QJsonValue value = json.value(key);
    if (!value.isBool())
        return std::nullopt;
    return value.toBool();
}

void readSpecialTokens(const QJsonObject &json, TokenizerConfig &config)
{
    const std::pair<const char *, QString *> fields[] = {
        {"bos_token", &config.bosToken}, {"eos_token", &config.eosToken},
        {"unk_token", &config.unkToken}, {"pad_token", &config.padToken},
        {"cls_token", &config.clsToken}, {"sep_token", &config.sepToken},
        {"mask_token", &config.maskToken},
    };
    for (const auto &[key, target] : fields) {
        const QString content = tokenContent(json.value(QLatin1String(key)));
        if (target->isEmpty() && !content.isEmpty())
            *target = content;
    }
    for (const QJsonValue &value : json.value(QStringLiteral("additional_special_tokens")).toArray()) {
        const QString content = tokenContent(value);
        if (!content.isEmpty() && !config.additionalSpecialTokens.contains(content))
            config.additionalSpecialTokens.append(content);
    }
}

void readAddedTokensDecoder(const QJsonObject &json, TokenizerConfig &config)
{
    const QJsonObject decoder = json.value(QStringLiteral("added_tokens_decoder")).toObject();
    for (auto it = decoder.begin(); it != decoder.end(); ++it) {
        bool isNumber = false;
        const qint64 id = it.key().toLongLong(&isNumber);
        const QJsonObject token = it.value().toObject();
        if (isNumber && token.value(QStringLiteral("special")).toBool())
            config.addedTokensDecoder.insert(id, token.value(QStringLiteral("content")).toString());
    }
}

void readFlags(const QJsonObject &json, TokenizerConfig &config)
{
    config.tokenizerClass = json.value(QStringLiteral("tokenizer_class")).toString();
    config.addBosToken = optionalBool(json, QStringLiteral("add_bos_token"));
    config.addEosToken = optionalBool(json, QStringLiteral("add_eos_token"));
    config.doLowerCase = optionalBool(json, QStringLiteral("do_lower_case"));
    config.stripAccents = optionalBool(json, QStringLiteral("strip_accents"));
    config.tokenizeChineseChars = json.value(QStringLiteral("tokenize_chinese_chars")).toBool(true);
    config.addPrefixSpace = json.value(QStringLiteral("add_prefix_space")).toBool(false);
    config.cleanUpTokenizationSpaces =
        json.value(QStringLiteral("clean_up_tokenization_spaces")).toBool(false);
    config.padOnLeft = json.value(QStringLiteral("padding_side")).toString() == QLatin1String("left");
}

} // namespace

TokenizerConfig TokenizerConfig::load(const QString &modelDir)
{
    const QDir dir(modelDir);
    const QJsonObject tokenizerConfig =
        readOptionalJsonObjectFile(dir.filePath(QStringLiteral("tokenizer_config.json")));
    const QJsonObject specialTokensMap =
        readOptionalJsonObjectFile(dir.filePath(QStringLiteral("special_tokens_map.json")));
    TokenizerConfig config;
    readFlags(tokenizerConfig, config);
    readAddedTokensDecoder(tokenizerConfig, config);
    readSpecialTokens(tokenizerConfig, config);
    readSpecialTokens(specialTokensMap, config);
    return config;
}

QStringList TokenizerConfig::specialTokens() const
{
    QStringList tokens;
    const QStringList named = {bosToken, eosToken, unkToken, padToken, clsToken, sepToken, maskToken};
    for (const QString &token : named + additionalSpecialTokens + addedTokensDecoder.values()) {
        if (!token.isEmpty() && !tokens.contains(token))
            tokens.append(token);
    }
    return tokens;
}

} // namespace surfing
