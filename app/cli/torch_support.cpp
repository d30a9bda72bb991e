// surfing-cli-torch reads pytorch_model.bin itself (see torchcli.h).
#include "format/checkpoint.h"

namespace {
const bool torchBinReaderInstalled = (surfing::installTorchBinReader(), true);
}
