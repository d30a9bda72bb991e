// The "post_processor" of a tokenizer.json: adds special tokens around one sequence or a pair.
#pragma once

#include "encoding.h"

#include <QJsonValue>
#include <QString>
#include <functional>

namespace surfing {

// SECOND is null for a single sequence. Without special tokens only token types are set.
using PostProcessor =
    std::function<Encoding(const Encoding &first, const Encoding *second, bool addSpecialTokens)>;

// Supports TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel and Sequence; null
// concatenates. Throws surfing::Error naming FILE and the type otherwise.
PostProcessor makePostProcessor(const QJsonValue &spec, const QString &file);

// A TemplateProcessing that puts BOS and/or EOS around each sequence (LLaMA's add_bos_token).
PostProcessor makeBosEosProcessor(const Encoding &bos, const Encoding &eos);

} // namespace surfing
