#include "chat/chatmodelinfo.h"

#include "base/error.h"
#include "chat/chattemplate.h"
#include "chat/stopconditions.h"
#include "format/modelconfig.h"

#include <QDir>

namespace surfing {

ChatModelInfo ChatModelInfo::load(const QString &modelDir)
{
    const ModelConfig config = ModelConfig::load(modelDir);
    ChatModelInfo info;
    info.modelType = config.modelType;
    info.isEncoder = config.family == ModelFamily::Bert;
    const QDir dir(modelDir);
    info.hasTokenizer = dir.exists(QStringLiteral("tokenizer.json")) || dir.exists(QStringLiteral("vocab.txt"))
        || dir.exists(QStringLiteral("vocab.json"));
    try {
        info.hasChatTemplate = ChatTemplate::load(modelDir).has_value();
    } catch (const Error &e) {
        info.templateError = e.message();
    }
    info.contextLength = surfing::contextLength(config.json).value_or(0);
    return info;
}

} // namespace surfing
