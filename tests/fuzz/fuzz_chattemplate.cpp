// libFuzzer target: chat templates come with downloaded models (tokenizer_config.json). Any
// bytes must parse and render to a string or be refused with surfing::Error — no crash, no hang,
// no unbounded memory (the evaluator's step and size limits).
#include "base/error.h"
#include "chat/chattemplate.h"

#include <QJsonArray>
#include <QJsonObject>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QString source = QString::fromUtf8(reinterpret_cast<const char *>(data), qsizetype(size));
    try {
        const surfing::ChatTemplate chat(source, {{QStringLiteral("bos_token"), QStringLiteral("<s>")},
                                                  {QStringLiteral("eos_token"), QStringLiteral("</s>")}});
        chat.render({{QStringLiteral("system"), QStringLiteral("Be brief.")},
                     {QStringLiteral("user"), QStringLiteral("Hi \u00e9")},
                     {QStringLiteral("assistant"), QStringLiteral("<think>\nx\n</think>\n\nHello")},
                     {QStringLiteral("user"), QStringLiteral("<tool_response>y</tool_response>")}},
                    true, QJsonObject{{"enable_thinking", false}, {"n", 3}, {"list", QJsonArray{1, "a"}}});
    } catch (const surfing::Error &) {
    }
    return 0;
}
