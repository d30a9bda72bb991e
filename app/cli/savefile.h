// The client commands (fetch, run) write files through core's saveFile (base/savefile.h).
#pragma once

#include "base/savefile.h"

namespace surfing::cli {
using surfing::saveFile;
} // namespace surfing::cli
