// Unicode normalization (NFC, NFD, ...) in linear time: QString::normalized rewrites the whole
// string for every character it changes, which is quadratic on long texts.
#pragma once

#include <QString>

namespace surfing {

// Same result as text.normalized(form).
QString normalizeUnicode(const QString &text, QString::NormalizationForm form);

} // namespace surfing
