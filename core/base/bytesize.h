// The one way Surfing writes a byte count for people: binary units with their IEC names
// ("512 B", "1.4 KiB", "12.0 MiB", "2.06 GiB"), the same in the GUI, the CLI and error messages.
#pragma once

#include <QString>

namespace surfing {

QString formatByteSize(qint64 bytes);

} // namespace surfing
